import re
from pathlib import Path

import pytest
import yaml

from {{ cookiecutter.package_name }}.params import TASK, ParamsError, load_params

PROJECT_PARAMS = Path(__file__).parents[1] / "params.yaml"


def write_params(tmp_path: Path, change) -> Path:
    document = yaml.safe_load(PROJECT_PARAMS.read_text(encoding="utf-8"))
    change(document)
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(document), encoding="utf-8")
    return path


def error_for(tmp_path: Path, change, *sections: str) -> str:
    path = write_params(tmp_path, change)
    with pytest.raises(ParamsError) as caught:
        load_params(*sections, path=path)
    return str(caught.value)


def test_project_params_are_valid():
    params = load_params(
        "data", "prepare", "featurize", "train", "evaluate", path=PROJECT_PARAMS
    )
    assert 0 < params["prepare"].test_size < 1
    assert params["train"].random_forest.n_estimators >= 1


def test_unknown_key_suggests_closest(tmp_path):
    message = error_for(
        tmp_path, lambda d: d["train"]["random_forest"].update(n_estimator=5), "train"
    )
    assert "unknown key train.random_forest.n_estimator" in message
    assert "did you mean train.random_forest.n_estimators?" in message


def test_unknown_section_is_reported(tmp_path):
    message = error_for(tmp_path, lambda d: d.update(trian={}), "prepare")
    assert "unknown key trian; did you mean train?" in message


def test_test_size_out_of_range(tmp_path):
    message = error_for(
        tmp_path, lambda d: d["prepare"].update(test_size=1.5), "prepare"
    )
    assert (
        "prepare.test_size is 1.5; allowed: a number between 0 and 1, exclusive"
        in message
    )


def test_wrong_type_names_value(tmp_path):
    message = error_for(
        tmp_path, lambda d: d["prepare"].update(seed="forty"), "prepare"
    )
    assert "prepare.seed is 'forty'; allowed: an integer from 0 to" in message


def test_boolean_is_not_a_number(tmp_path):
    message = error_for(
        tmp_path,
        lambda d: d["train"]["random_forest"].update(n_estimators=True),
        "train",
    )
    assert "train.random_forest.n_estimators is True" in message


def test_negative_count_rejected(tmp_path):
    message = error_for(
        tmp_path,
        lambda d: d["train"]["random_forest"].update(min_samples_leaf=-1),
        "train",
    )
    assert (
        "train.random_forest.min_samples_leaf is -1; allowed: an integer of at least 1"
        in message
    )


def test_unknown_model_lists_choices(tmp_path):
    message = error_for(tmp_path, lambda d: d["train"].update(model="svm"), "train")
    assert "train.model is 'svm'; allowed: one of random_forest, " in message


@pytest.mark.parametrize("written", ["1e-3", "1.0e3"])
def test_exponent_read_as_text_gets_hint(tmp_path, written):
    path = tmp_path / "params.yaml"
    text = PROJECT_PARAMS.read_text(encoding="utf-8").replace(
        "learning_rate_init: 0.001", f"learning_rate_init: {written}"
    )
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ParamsError) as caught:
        load_params("train", path=path)
    assert f"train.mlp.learning_rate_init is '{written}'" in str(caught.value)
    assert "a signed exponent, e.g. 1.0e+3 or 1.0e-3" in str(caught.value)


def test_suggested_exponent_form_is_a_number(tmp_path):
    path = tmp_path / "params.yaml"
    text = PROJECT_PARAMS.read_text(encoding="utf-8").replace(
        "learning_rate_init: 0.001", "learning_rate_init: 1.0e-3"
    )
    path.write_text(text, encoding="utf-8")
    assert load_params("train", path=path)["train"].mlp.learning_rate_init == 0.001


def test_integer_in_exponent_form_gets_digits(tmp_path):
    path = tmp_path / "params.yaml"
    text = PROJECT_PARAMS.read_text(encoding="utf-8").replace(
        "n_estimators: 100", "n_estimators: 1e3"
    )
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ParamsError) as caught:
        load_params("train", path=path)
    assert "write it unquoted, in digits: 1000" in str(caught.value)


def test_missing_key_says_what_to_set(tmp_path):
    message = error_for(tmp_path, lambda d: d["prepare"].pop("seed"), "prepare")
    assert "missing key prepare.seed: set it to an integer" in message


def test_all_problems_reported_together(tmp_path):
    def change(document):
        document["prepare"]["test_size"] = 0
        document["prepare"]["seed"] = -1

    message = error_for(tmp_path, change, "prepare")
    assert "prepare.test_size is 0" in message
    assert "prepare.seed is -1" in message


def test_unread_section_is_not_validated(tmp_path):
    path = write_params(tmp_path, lambda d: d["train"].update(model="svm"))
    assert load_params("prepare", path=path)["prepare"].seed == 42


def test_invalid_yaml(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text("prepare: [unclosed\n", encoding="utf-8")
    with pytest.raises(ParamsError, match="is not valid YAML"):
        load_params("prepare", path=path)


def test_missing_file(tmp_path):
    with pytest.raises(
        ParamsError, match="not found: run the stage from the project root"
    ):
        load_params("prepare", path=tmp_path / "params.yaml")


def test_unknown_role_lists_roles(tmp_path):
    message = error_for(
        tmp_path, lambda d: d["data"].update(columns={"id": "skip"}), "data"
    )
    assert (
        "data.columns.id is 'skip'; allowed: one of numeric, categorical, text, drop"
        in message
    )


def test_empty_columns_mapping_is_allowed(tmp_path):
    path = write_params(tmp_path, lambda d: d["data"].update(columns=None))
    assert load_params("data", path=path)["data"].columns == {}


def test_delimiter_must_be_one_character(tmp_path):
    message = error_for(
        tmp_path, lambda d: d["data"]["csv"].update(delimiter=";;"), "data"
    )
    assert "data.csv.delimiter is ';;'; allowed: a single character" in message


def test_unknown_encoding_rejected(tmp_path):
    message = error_for(
        tmp_path, lambda d: d["data"]["csv"].update(encoding="utf-9"), "data"
    )
    assert "data.csv.encoding is 'utf-9'; allowed: a text encoding" in message


def test_section_of_the_other_task_rejected(tmp_path):
    other, section = (
        ("regression", "ridge")
        if TASK == "classification"
        else ("classification", "logistic_regression")
    )
    message = error_for(tmp_path, lambda d: d["train"].update({section: {}}), "train")
    assert (
        f"train.{section} is for {other} projects, and this project does {TASK}: "
        "remove it" in message
    )


def test_ngram_range_needs_two_ordered_lengths(tmp_path):
    message = error_for(
        tmp_path,
        lambda d: d["featurize"]["text"].update(ngram_range=[2, 1]),
        "featurize",
    )
    assert "featurize.text.ngram_range is [2, 1]; allowed: a list of two" in message


def test_stop_words_of_unknown_language(tmp_path):
    message = error_for(
        tmp_path,
        lambda d: d["featurize"]["text"].update(stop_words="german"),
        "featurize",
    )
    assert (
        "featurize.text.stop_words is 'german'; allowed: null (keep every word) or "
        "english" in message
    )


@pytest.mark.skipif(TASK != "classification", reason="classification params")
def test_unquoted_yes_gets_quoting_hint(tmp_path):
    path = tmp_path / "params.yaml"
    text = PROJECT_PARAMS.read_text(encoding="utf-8")
    text = re.sub(r"positive_class: \S+", "positive_class: yes", text)
    path.write_text(text, encoding="utf-8")

    with pytest.raises(ParamsError) as caught:
        load_params("evaluate", path=path)

    assert "evaluate.positive_class is True;" in str(caught.value)
    assert "write the text in quotes, e.g. 'yes'" in str(caught.value)
