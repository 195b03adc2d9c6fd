# The team's shared generator, kept byte-identical so posts match the reference figures.
"""Write N synthetic StackOverflow-style posts, for benchmarks of text classification.

Usage: python gen_fake_posts.py OUTPUT N [SEED]
OUTPUT ending in .csv: a CSV with the columns id, title, body, label (label 1 = the post is tagged
<r>, about one post in three). Any other OUTPUT: one Posts.xml-style <row .../> line per post, the
layout of DVC's example-get-started data.xml, so that both pipelines can be timed on the same
posts (same seed, same order). Bodies are HTML paragraphs of 6-16 word sentences; 40% of posts
borrow the other class's words, so the task is not trivially separable.
"""
import random
import sys
from xml.sax.saxutils import quoteattr

COMMON = (
    "how can i get the value from a list when the function returns error "
    "loop string array number file read write table column row index "
    "plot chart model data set variable object class method call input "
    "output code example problem question answer result test run version "
    "install package library import error warning message line time date"
).split()
R_WORDS = "ggplot2 dplyr tidyverse dataframe rstudio cran tibble vector factor lapply".split()
OTHER = "python pandas java javascript jquery css html sql mysql android".split()
R_TAGS = ["r", "ggplot2", "dplyr", "data.table", "shiny", "dataframe"]
OTHER_TAGS = ["python", "java", "javascript", "c#", "php", "android", "sql", "css"]


def sentence(rng, extra):
    words = [rng.choice(COMMON) for _ in range(rng.randint(6, 16))]
    for _ in range(rng.randint(0, 2)):
        words.insert(rng.randrange(len(words)), rng.choice(extra))
    return " ".join(words).capitalize() + "."


def row(rng, pid, is_r):
    # 40% of posts use the other class's vocabulary, so the task is not trivially separable
    extra = (R_WORDS if is_r else OTHER) if rng.random() < 0.6 else (OTHER if is_r else R_WORDS)
    paras = []
    for _ in range(rng.randint(2, 8)):
        paras.append("<p>" + " ".join(sentence(rng, extra) for _ in range(rng.randint(1, 4))) + "</p>")
    if rng.random() < 0.5:
        paras.append("<pre><code>x &lt;- f(y)\nprint(x)\n</code></pre>")
    body = "\n".join(paras) + "\n"
    title = sentence(rng, extra)[:-1] + "?"
    pool = R_TAGS if is_r else OTHER_TAGS
    tags = ["r"] if is_r else []
    tags += rng.sample([t for t in pool if t != "r"], rng.randint(0, 3))
    tags = "".join(f"<{t}>" for t in tags) or "<other>"
    attrs = [
        ("Id", str(pid)),
        ("PostTypeId", "1"),
        ("CreationDate", f"2017-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}T12:34:56.789"),
        ("Score", str(rng.randint(-3, 50))),
        ("ViewCount", str(rng.randint(10, 90000))),
        ("Body", body),
        ("OwnerUserId", str(rng.randint(1, 9_000_000))),
        ("LastActivityDate", "2017-10-01T00:00:00.000"),
        ("Title", title),
        ("Tags", tags),
        ("AnswerCount", str(rng.randint(0, 6))),
        ("CommentCount", str(rng.randint(0, 9))),
    ]
    text = " ".join(
        f"{k}={quoteattr(v, {chr(10): '&#xA;'})}" for k, v in attrs
    )
    return f"  <row {text} />\n"


def main():
    out, n = sys.argv[1], int(sys.argv[2])
    rng = random.Random(int(sys.argv[3]) if len(sys.argv) > 3 else 0)
    as_csv = out.endswith(".csv")
    with open(out, "w", encoding="utf-8", newline="") as fd:
        writer = None
        if as_csv:
            import csv
            import html
            import re
            writer = csv.writer(fd, lineterminator="\n")
            writer.writerow(["id", "title", "body", "label"])
        pid = 1000000
        for _ in range(n):
            pid += rng.randint(1, 50)
            line = row(rng, pid, rng.random() < 1 / 3)
            if not as_csv:
                fd.write(line)
                continue
            attrs = dict(re.findall(r'(\w+)="([^"]*)"', line))
            body = html.unescape(attrs["Body"].replace("&#xA;", "\n"))
            tags = html.unescape(attrs["Tags"])
            writer.writerow([attrs["Id"], html.unescape(attrs["Title"]), body, int("<r>" in tags)])


if __name__ == "__main__":
    main()
