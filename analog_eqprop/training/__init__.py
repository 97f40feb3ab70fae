"""Training: the EqProp loop, optimisers and atomic checkpoints."""

from analog_eqprop.training.checkpoint import atomic_write_text, load_checkpoint, save_checkpoint
from analog_eqprop.training.optim import OPTIMIZERS, Adam, Momentum, Optimizer, SGD, make_optimizer
from analog_eqprop.training.trainer import TrainConfig, Trainer, evaluate, one_hot_targets

__all__ = ["TrainConfig", "Trainer", "evaluate", "one_hot_targets", "Optimizer", "SGD", "Momentum", "Adam", "make_optimizer",
           "OPTIMIZERS", "save_checkpoint", "load_checkpoint", "atomic_write_text"]
