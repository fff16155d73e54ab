"""Training and prediction for the GET model.

``train(TrainConfig(...))`` (or ``TrainConfig.from_preset("paper", store, out, task=...)``) runs
pretraining, expression or accessibility finetuning with Lightning and writes a run directory;
``load_model(run).predict(store, cell_type)`` predicts expression per gene, and
``getx.train.evaluate`` scores runs on their held-out split. torch and Lightning load only when
these are called.
"""

from getx.train.config import DataConfig, TrainConfig
from getx.train.predict import load_model, predict
from getx.train.run import train

__all__ = ["DataConfig", "TrainConfig", "load_model", "predict", "train"]
