"""Training and prediction for the GET model.

``train(TrainConfig(...))`` runs pretraining, expression or accessibility finetuning with
Lightning and writes a run directory; ``load_model(checkpoint).predict(store, cell_type)``
predicts expression per gene. torch and Lightning load only when these are called.
"""

from getx.train.predict import load_model, predict
from getx.train.run import TrainConfig, train

__all__ = ["TrainConfig", "load_model", "predict", "train"]
