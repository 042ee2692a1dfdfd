"""A whole-stack function: scikit-learn fits, scipy statistics, a pandas groupby, a seaborn figure, Powertools.

Runs as ``__main__`` in a fresh interpreter with only the function's layers on ``sys.path`` (the trim trace and its
verification, ``bench.layer --profile full``). Every step checks its result, so a broken layer cannot pass.
"""

import io
import json

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import scipy.stats
import seaborn as sns
from aws_lambda_powertools import Logger
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

rng = np.random.default_rng(0)
frame = pd.DataFrame({"site": rng.choice(["a", "b", "c"], 600), "x": rng.normal(size=600),
                      "y": rng.normal(size=600)})
frame["label"] = (frame["x"] + 0.5 * frame["y"] > 0).astype(int)

means = frame.groupby("site")[["x", "y"]].agg(["mean", "std"])
assert means.shape == (3, 4), means

test = scipy.stats.ttest_ind(frame.loc[frame.site == "a", "x"], frame.loc[frame.site == "b", "x"])
assert 0.0 <= test.pvalue <= 1.0, test
loc, scale = scipy.stats.norm.fit(frame["x"])
assert abs(loc) < 0.2 and abs(scale - 1.0) < 0.2, (loc, scale)

x_train, x_test, y_train, y_test = train_test_split(frame[["x", "y"]], frame["label"], random_state=0)
model = make_pipeline(StandardScaler(), LogisticRegression()).fit(x_train, y_train)
assert model.score(x_test, y_test) > 0.9
forest = RandomForestClassifier(n_estimators=10, random_state=0, n_jobs=1).fit(x_train, y_train)
assert forest.score(x_test, y_test) > 0.8

axes = sns.scatterplot(data=frame, x="x", y="y", hue="site")
png = io.BytesIO()
axes.figure.savefig(png, format="png")
assert png.getvalue()[:8] == b"\x89PNG\r\n\x1a\n"

buffer = io.StringIO()
Logger(service="full-stack", logger_handler=__import__("logging").StreamHandler(buffer)).info(
    "done", extra={"rows": len(frame)})
assert json.loads(buffer.getvalue())["rows"] == 600
