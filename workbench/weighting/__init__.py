"""Loss-weighting and gradient methods: one small class each."""

from workbench.weighting import gradient_weighting as _gradient  # noqa: F401,E402  (registers them)
from workbench.weighting import gradnorm as _gradnorm  # noqa: F401,E402  (registers it)
from workbench.weighting import methods as _methods  # noqa: F401,E402  (registers the methods)
from workbench.weighting import scalarizers as _scalarizers  # noqa: F401,E402  (registers them)
from workbench.weighting.gradient_methods import GRADIENT_METHODS, combine_gradients
from workbench.weighting.registry import WEIGHTINGS

__all__ = ["GRADIENT_METHODS", "WEIGHTINGS", "build_weighting", "combine_gradients"]


def build_weighting(cfg, seed: int = 0):
    """The weighting method of an ExperimentConfig."""
    names = [t.name for t in cfg.tasks]
    static = {t.name: t.loss_weight for t in cfg.tasks}
    return WEIGHTINGS.get(cfg.weighting.method)(names, cfg.weighting.params, static, seed=seed)
