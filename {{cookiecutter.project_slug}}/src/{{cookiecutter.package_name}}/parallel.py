"""Fit on a Dask cluster when ``DASK_SCHEDULER_ADDRESS`` names one.

With the variable set to a scheduler's address (``tcp://HOST:PORT``), ``dask_backend``
connects to it and sends scikit-learn's joblib work to the cluster's workers. Without
it, nothing changes and ``distributed`` is not imported. Today that work is the
random forest's trees. Cross-validation or a hyperparameter search added to train
would run its fits on the same backend when fitted through ``fit_in_parallel``.

Only fitting leaves this machine. ``n_jobs`` is set back to 1 before the model is
scored and saved, so predictions run here on one thread and the saved model has the
same bytes as after a local run, which fits on every core of this machine.
"""

import logging
import os
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

from .errors import InputError

log = logging.getLogger(__name__)

ADDRESS_VARIABLE = "DASK_SCHEDULER_ADDRESS"
CONNECT_TIMEOUT = 10  # seconds to reach the scheduler
WORKER_TIMEOUT = 60  # seconds to wait for the scheduler's first worker
UNSET_HINT = f"or unset {ADDRESS_VARIABLE} to train on this machine"


class ClusterError(InputError):
    """A Dask scheduler that cannot be used, as the message explains."""


def scheduler_address() -> str | None:
    """Return the checked scheduler address, or None when the variable is unset."""
    value = os.environ.get(ADDRESS_VARIABLE, "").strip()
    if not value:
        return None

    if not _is_tcp_address(value):
        fix = "Set it to the address that `dask scheduler` prints"
        if "://" not in value and _is_tcp_address(f"tcp://{value}"):
            fix = f"Write it as tcp://{value}"
        raise ClusterError(
            f"{ADDRESS_VARIABLE}={value!r} is not a Dask scheduler address: "
            f"expected tcp://HOST:PORT, such as tcp://127.0.0.1:8786. {fix}, "
            f"{UNSET_HINT}."
        )
    return value


def _is_tcp_address(text: str) -> bool:
    parts = urlsplit(text)
    try:
        port = parts.port
    except ValueError:
        return False
    return (
        parts.scheme == "tcp"
        and bool(parts.hostname)
        and port is not None
        and not parts.path
    )


@contextmanager
def dask_backend(
    connect_timeout: float = CONNECT_TIMEOUT, worker_timeout: float = WORKER_TIMEOUT
) -> Iterator[None]:
    """Inside the block, run joblib's work on the cluster at ``DASK_SCHEDULER_ADDRESS``.

    Without the variable the block runs as it is. With it, the block runs once the
    scheduler responds and has a worker, and a log line counts the tasks per worker.
    """
    address = scheduler_address()
    if address is None:
        yield
        return

    import joblib
    from distributed import Client, get_task_stream

    try:
        client = Client(address, timeout=connect_timeout, set_as_default=False)
    except OSError as error:  # a timeout or a refused connection
        raise ClusterError(
            f"connecting to the Dask scheduler at {ADDRESS_VARIABLE}={address!r} "
            f"failed: {error}. Start one with `dask scheduler` and set the variable "
            f"to the address it prints, {UNSET_HINT}."
        ) from None

    with client:
        try:
            client.wait_for_workers(1, timeout=worker_timeout)
        except TimeoutError:
            raise ClusterError(
                f"the Dask scheduler at {ADDRESS_VARIABLE}={address!r} has no worker "
                f"after {worker_timeout:g} s. Start one with `dask worker {address}`, "
                f"{UNSET_HINT}."
            ) from None
        threads = client.nthreads()
        log.info(
            "fitting on the Dask cluster at %s: %d worker(s), %d thread(s)",
            address,
            len(threads),
            sum(threads.values()),
        )

        with (
            get_task_stream(client) as stream,
            joblib.parallel_config(backend="dask", client=client),
        ):
            yield

    # NOTE: the task stream lists every task the scheduler ran meanwhile, so on a
    # cluster that other clients use at the same time the counts include theirs.
    tasks = Counter(task["worker"] for task in stream.data)
    log.info(
        "Dask ran %d task(s) on %d worker(s): %s",
        tasks.total(),
        len(tasks),
        ", ".join(f"{worker} {count}" for worker, count in sorted(tasks.items()))
        or "none",
    )


def fit_in_parallel(estimator, *args, **kwargs):
    """Fit ``estimator`` with ``n_jobs=-1``: on the Dask cluster while its backend is
    in force, else on every core of this machine.

    Each tree of a forest gets its seed before the fit, so the trees are the same
    however many run at once. ``n_jobs`` goes back to its value before the fit (1
    in train) afterwards: it is saved inside the model, and a forest's predict_proba
    on several threads can change the last digits of its scores.
    """
    previous = estimator.get_params()["n_jobs"]
    estimator.set_params(n_jobs=-1)
    try:
        return estimator.fit(*args, **kwargs)
    finally:
        estimator.set_params(n_jobs=previous)
