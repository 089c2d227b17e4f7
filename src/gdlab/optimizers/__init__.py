"""Gradient transformations ``Optimizer(init, update)``, one family per file."""

# The second frontier batch (issue 15): each module lists its public names in __all__.
from gdlab.optimizers import _adafactor, _lbfgs, _loss_aware, _lr_free, _matrix, _schedule_free
from gdlab.optimizers._adafactor import *  # noqa: F403
from gdlab.optimizers._adam import AdamState, adam, adamw, amsgrad
from gdlab.optimizers._adam_variants import (
    MomentsState,
    adabelief,
    adamax,
    nadam,
    radam,
    yogi,
)
from gdlab.optimizers._adaptive import (
    AdadeltaState,
    AdagradState,
    RMSPropState,
    adadelta,
    adagrad,
    rmsprop,
)
from gdlab.optimizers._base import Optimizer
from gdlab.optimizers._frontier import LambState, LarsState, RpropState, lamb, lars, rprop
from gdlab.optimizers._frontier_moments import (
    AdanState,
    AdemamixState,
    AdoptState,
    adan,
    ademamix,
    adopt,
)
from gdlab.optimizers._lbfgs import *  # noqa: F403
from gdlab.optimizers._loss_aware import *  # noqa: F403
from gdlab.optimizers._lr_free import *  # noqa: F403
from gdlab.optimizers._matrix import *  # noqa: F403
from gdlab.optimizers._plateau import PlateauState, reduce_on_plateau
from gdlab.optimizers._reference import LineSearchState, NewtonState, armijo, newton
from gdlab.optimizers._registry import OPTIMIZERS, OptimizerInfo, OptimizerSpec, optimizer
from gdlab.optimizers._schedule_free import *  # noqa: F403
from gdlab.optimizers._sgd import (
    CONVENTIONS,
    MomentumState,
    SgdState,
    VelocityState,
    momentum,
    nesterov,
    sgd,
)
from gdlab.optimizers._sign import SignState, lion, sign_sgd, signum
from gdlab.optimizers._transforms import (
    accumulate,
    chain,
    clip,
    clip_by_global_norm,
    clip_by_norm,
    from_optax,
    skip_nonfinite,
    weight_decay,
)

__all__ = [
    "AdanState",
    "AdemamixState",
    "AdoptState",
    "LambState",
    "LarsState",
    "RpropState",
    "adan",
    "ademamix",
    "adopt",
    "lamb",
    "lars",
    "rprop",
    "LineSearchState",
    "NewtonState",
    "armijo",
    "newton",
    "accumulate",
    "chain",
    "clip",
    "clip_by_global_norm",
    "clip_by_norm",
    "from_optax",
    "skip_nonfinite",
    "weight_decay",
    "MomentsState",
    "SignState",
    "adabelief",
    "adamax",
    "lion",
    "nadam",
    "radam",
    "sign_sgd",
    "signum",
    "yogi",
    "AdadeltaState",
    "AdagradState",
    "RMSPropState",
    "adadelta",
    "adagrad",
    "rmsprop",
    "AdamState",
    "adam",
    "adamw",
    "amsgrad",
    "CONVENTIONS",
    "OPTIMIZERS",
    "MomentumState",
    "Optimizer",
    "OptimizerInfo",
    "OptimizerSpec",
    "PlateauState",
    "SgdState",
    "VelocityState",
    "momentum",
    "nesterov",
    "optimizer",
    "reduce_on_plateau",
    "sgd",
]
__all__ += [*_lbfgs.__all__, *_loss_aware.__all__, *_schedule_free.__all__, *_lr_free.__all__,
            *_matrix.__all__, *_adafactor.__all__]
