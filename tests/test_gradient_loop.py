"""Gradient methods in the training step: the Jacobian and Gramian paths against plain backward."""

from __future__ import annotations

import pytest
import torch
from conftest import tiny_config

from workbench.config import WeightingConfig
from workbench.models.backbones import BACKBONES
from workbench.training.evaluation import needed_targets
from workbench.training.experiment import build_experiment
from workbench.training.trainer import epoch_order, iter_batches
from workbench.weighting import WEIGHTINGS
from workbench.weighting.base import BackwardContext
from workbench.weighting.gradient_methods import GRADIENT_METHODS
from workbench.weighting.gradient_weighting import NonFiniteGradients

# a dense task (its head fuses strides 4-32), a box task and a global one
TASKS = (("scene", "classification"), ("boxes", "detection"), ("seg", "segmentation"))


def _setup(backbone: str, depth: int, method: str = "sum", params=None, image_size: int = 32):
    cfg = tiny_config(TASKS)
    cfg.data.options.update(image_size=image_size, train_size=2, val_size=2)
    cfg.model.backbone = backbone
    cfg.model.sharing_depth = depth
    cfg.model.channels_last = False
    cfg.weighting = WeightingConfig(method=method, params=dict(params or {}))
    exp = build_experiment(cfg, pretrained=False)
    model = exp.model.double().train()
    order = epoch_order(0, 0, len(exp.train_set))
    images, targets = next(iter_batches(exp.train_set, order, 2, 0, 1, 0, needed_targets(exp.tasks)))
    targets.pop("problems", None)
    return exp, model, images.double(), targets


def _losses(exp, model, images, targets):
    torch.manual_seed(1)  # dropout draws, if any, the same in every pass
    out = model(images)
    return {t.name: t.masked_loss(out[t.name], targets)[0].double() for t in exp.tasks}


def _ctx(model):
    return BackwardContext(
        shared_params=model.shared_parameters(),
        shared_modules=list(model.shared),
        task_params={
            n: [*model.branches[n].parameters(), *model.heads[n].parameters()] for n in model.task_names
        },
    )


def _grads(model):
    return {
        k: (p.grad.clone() if p.grad is not None else torch.zeros_like(p))
        for k, p in model.named_parameters()
    }


def _plain(exp, model, images, targets, weights):
    model.zero_grad(set_to_none=True)
    losses = _losses(exp, model, images, targets)
    sum(weights[n] * losses[n] for n in losses).backward()
    return _grads(model)


def _method(exp, model, images, targets, method_weighting):
    model.zero_grad(set_to_none=True)
    ctx = _ctx(model)
    method_weighting.attach(ctx)
    losses = _losses(exp, model, images, targets)
    total, weights = method_weighting.backward(losses, ctx)
    return _grads(model), total, weights


def _build(exp, method, **params):
    names = [t.name for t in exp.tasks]
    return WEIGHTINGS.get(method)(names, params, {n: 1.0 for n in names})


def _assert_close(got, want, keys):
    for k in keys:
        err = (got[k] - want[k]).abs().max().item()
        assert err <= 1e-6 * max(1.0, want[k].abs().max().item()), f"{k}: {err}"


# depth 0 has no shared parameters: the method falls back to the plain sum whatever the
# backbone, so one backbone covers it
CASES = [("small_cnn", 0)] + [
    (b, d) for b in BACKBONES.names() for d in range(1, BACKBONES.get(b).num_stages + 1)
]


@pytest.mark.parametrize(("backbone", "depth"), CASES)
def test_sum_and_mean_reproduce_plain_backward(backbone, depth):
    """Sum: every gradient equals the plain backward of the summed losses. Mean: the shared
    gradients equal the plain backward of the mean loss; each task's own layers keep the
    unweighted gradient of its own loss (the documented convention)."""
    exp, model, images, targets = _setup(backbone, depth)
    names = [t.name for t in exp.tasks]
    shared = {k for k, _ in model.named_parameters() if k.startswith("shared.")}
    own = {k for k, _ in model.named_parameters() if not k.startswith("shared.")}
    want_sum = _plain(exp, model, images, targets, {n: 1.0 for n in names})
    for path in ("jacobian", "gramian"):
        got, total, weights = _method(exp, model, images, targets, _build(exp, "sum", path=path))
        _assert_close(got, want_sum, shared | own)
        assert weights == {n: 1.0 for n in names}
    want_mean = _plain(exp, model, images, targets, {n: 1.0 / 3 for n in names})
    got, _, weights = _method(exp, model, images, targets, _build(exp, "mean", path="jacobian"))
    _assert_close(got, want_mean, shared)
    _assert_close(got, want_sum, own)
    if depth:
        assert weights == pytest.approx({n: 1.0 / 3 for n in names})


def test_gramian_path_gives_the_jacobian_paths_update():
    exp, model, images, targets = _setup("small_cnn", 3)
    a, _, wa = _method(exp, model, images, targets, _build(exp, "upgrad", path="jacobian"))
    b, _, wb = _method(exp, model, images, targets, _build(exp, "upgrad", path="gramian"))
    assert wa == pytest.approx(wb, rel=1e-6)
    _assert_close(b, a, list(a))


def test_gramian_path_survives_steps_that_take_no_gramian(tmp_path):
    """Steps reusing the weights (every = 2) run a forward pass through the engine's hooked
    modules without a Gramian; the next Gramian must still come (torchjd refused at step 3:
    "a forward pass without an associated backward pass"), and the run trains as the
    Jacobian path does."""
    from workbench.training.run_store import RunStore
    from workbench.training.trainer import Trainer

    losses = {}
    for path in ("jacobian", "gramian"):
        cfg = tiny_config()
        cfg.name = path
        cfg.train.epochs, cfg.train.batch_size, cfg.train.num_samples = 1, 8, 0
        cfg.data.options.update(image_size=32, train_size=40, val_size=8)
        cfg.weighting = WeightingConfig(method="upgrad", params={"path": path, "every": 2}, conflict_every=0)
        events = []
        summary = Trainer(cfg, RunStore.create(tmp_path, path), subscribers=[events.append]).run()
        assert summary["status"] == "finished", summary.get("error")
        losses[path] = [e.losses for e in events if type(e).__name__ == "StepEnded"]
    assert len(losses["gramian"]) == 5
    for a, b in zip(losses["jacobian"], losses["gramian"], strict=True):
        assert b == pytest.approx(a, rel=1e-4)


@pytest.mark.parametrize("path", ["jacobian", "gramian"])
def test_config_in_the_loop_is_torchjds_config_of_the_task_gradients(path):
    """The shared update is torchjd's ConFIG of the per-task gradients (float64, small P,
    where its pseudo-inverse is exact), computed through the Gramian; heads get g_i."""
    from torchjd.aggregation import ConFIG

    exp, model, images, targets = _setup("small_cnn", 3)
    names = [t.name for t in exp.tasks]
    got, _, weights = _method(exp, model, images, targets, _build(exp, "config", path=path))
    shared = [k for k in got if k.startswith("shared.")]
    per_task = [_plain(exp, model, images, targets, {m: float(m == n) for m in names}) for n in names]
    J = torch.stack([torch.cat([g[k].flatten() for k in shared]) for g in per_task])
    want = ConFIG()(J)
    update = torch.cat([got[k].flatten() for k in shared])
    err = float((update - want).abs().max() / want.abs().max())
    assert err < 1e-6, err  # the autogram engine agrees with the Jacobian path to ~1e-7
    weighted = _plain(exp, model, images, targets, weights)
    _assert_close(got, weighted, shared)  # the reported weights are the update's
    for n, g in zip(names, per_task, strict=True):  # each head: its own unweighted gradient
        own = [k for k in got if k.startswith((f"heads.{n}.", f"branches.{n}."))]
        _assert_close(got, g, own)


def test_mgda_update_is_its_weights_times_the_task_gradients():
    """The shared update is Σ w_i g_i with the reported weights; the heads get g_i."""
    exp, model, images, targets = _setup("small_cnn", 4)
    names = [t.name for t in exp.tasks]
    got, total, weights = _method(exp, model, images, targets, _build(exp, "mgda", path="jacobian"))
    assert sum(weights.values()) == pytest.approx(1.0, abs=1e-6)  # MGDA: a convex combination
    want = _plain(exp, model, images, targets, weights)
    shared = [k for k in got if k.startswith("shared.")]
    _assert_close(got, want, shared)
    losses = _losses(exp, model, images, targets)
    assert total == pytest.approx(sum(weights[n] * float(losses[n].detach()) for n in names), rel=1e-9)


def test_every_k_steps_reuses_the_last_weights():
    exp, model, images, targets = _setup("small_cnn", 4)
    weighting = _build(exp, "mgda", every=3)
    calls = []
    weighting.aggregator.gramian_weighting.register_forward_hook(lambda *_: calls.append(1))
    reported = [_method(exp, model, images, targets, weighting)[2] for _ in range(4)]
    assert len(calls) == 2  # steps 0 and 3
    assert reported[1] == reported[0] and reported[2] == reported[0]
    # a reused step's shared update is the weighted backward with the kept weights
    weighting.steps = 1
    got, _, weights = _method(exp, model, images, targets, weighting)
    want = _plain(exp, model, images, targets, weights)
    _assert_close(got, want, [k for k in got if k.startswith("shared.")])


def test_non_finite_jacobian_skips_under_a_scaler_and_stops_without():
    exp, model, images, targets = _setup("small_cnn", 4)
    weighting = _build(exp, "upgrad", path="jacobian")
    weighting.aggregator.gramian_weighting.register_forward_pre_hook(
        lambda *_: pytest.fail("a solver saw a non-finite Jacobian")
    )
    model.zero_grad(set_to_none=True)
    ctx = _ctx(model)
    ctx.loss_scale = 2.0**20
    ctx.scale = lambda t: t * 1e308  # overflows to inf in the backward pass
    losses = _losses(exp, model, images, targets)
    total, weights = weighting.backward(losses, ctx)
    assert total == pytest.approx(sum(float(v.detach()) for v in losses.values()))  # finite for the log
    assert all(torch.isnan(p.grad).all() for p in model.shared_parameters())  # the scaler skips the step
    ctx.loss_scale = 1.0
    with pytest.raises(NonFiniteGradients, match="NaN or inf"):
        weighting.backward(_losses(exp, model, images, targets), ctx)


def test_partial_labels_combine_only_the_labelled_tasks():
    exp, model, images, targets = _setup("small_cnn", 4)
    names = [t.name for t in exp.tasks]
    weighting = _build(exp, "sum", path="jacobian")
    model.zero_grad(set_to_none=True)
    ctx = _ctx(model)
    losses = _losses(exp, model, images, targets)
    _, weights = weighting.backward(losses, ctx, present={names[0], names[2]})
    assert weights == {names[0]: 1.0, names[1]: 0.0, names[2]: 1.0}
    got = _grads(model)
    want = _plain(exp, model, images, targets, {names[0]: 1.0, names[1]: 0.0, names[2]: 1.0})
    _assert_close(got, want, list(got))


def _installed_gradient_methods():
    from workbench.weighting.gradient_methods import GRADIENT_METHODS

    return [m for m, spec in GRADIENT_METHODS.items() if not spec.missing()]


@pytest.mark.parametrize("path", ["jacobian", "gramian"])
@pytest.mark.parametrize("method", _installed_gradient_methods())
def test_one_labelled_task_takes_its_own_gradient_for_every_method(method, path):
    """A batch that labels one task (or a one-task experiment) has nothing to combine: the
    step is that task's plain gradient, whatever the method (Nash-MTL's programme has no
    one-task form; CAGrad would scale it by 1 + c, FairGrad by its alpha)."""
    from workbench.weighting.gradient_weighting import GRAMIAN_METHODS

    if path == "gramian" and method not in GRAMIAN_METHODS:
        pytest.skip("the gramian path is for methods whose weights depend on the Gramian alone")
    exp, model, images, targets = _setup("small_cnn", 2)
    names = [t.name for t in exp.tasks]
    weighting = _build(exp, method, path=path)
    model.zero_grad(set_to_none=True)
    ctx = _ctx(model)
    weighting.attach(ctx)
    losses = _losses(exp, model, images, targets)
    total, weights = weighting.backward(losses, ctx, present={names[1]})
    assert weights == {names[0]: 0.0, names[1]: 1.0, names[2]: 0.0}
    assert total == pytest.approx(float(losses[names[1]].detach()))
    got = _grads(model)
    want = _plain(exp, model, images, targets, {names[0]: 0.0, names[1]: 1.0, names[2]: 0.0})
    weighting.skip_step()  # _plain's forward pass is no training step
    _assert_close(got, want, list(got))
    # the next step, with every task labelled, combines again (a Gramian is taken)
    model.zero_grad(set_to_none=True)
    weighting.backward(_losses(exp, model, images, targets), ctx)
    assert weighting.last_gramian is not None and weighting.last_gramian.shape == (3, 3)


def test_nash_mtl_on_a_batch_labelling_two_of_three_tasks():
    """Nash-MTL's programme is built for the experiment's 3 tasks; a batch labelling 2 gets
    a programme of its own size: the weights the pure function gives for those two tasks'
    gradients (Navon et al. 2022 through torchjd), and the full programme is kept."""
    pytest.importorskip("cvxpy")
    from workbench.weighting.gradient_methods import combine_gradients

    exp, model, images, targets = _setup("small_cnn", 2)
    names = [t.name for t in exp.tasks]
    weighting = _build(exp, "nash_mtl", max_norm=0.0)
    model.zero_grad(set_to_none=True)
    ctx = _ctx(model)
    losses = _losses(exp, model, images, targets)
    _, weights = weighting.backward(losses, ctx, present={names[0], names[2]})
    assert weights[names[1]] == 0.0 and weighting.last_gramian_names == [names[0], names[2]]
    shared = list(model.shared_parameters())
    losses = _losses(exp, model, images, targets)
    rows = [
        torch.cat([g.flatten() for g in torch.autograd.grad(losses[n], shared, retain_graph=True)])
        for n in (names[0], names[2])
    ]
    _, want = combine_gradients("nash_mtl", torch.stack(rows).numpy(), max_norm=0.0)
    got = [weights[names[0]], weights[names[2]]]
    assert got == pytest.approx(list(want), rel=1e-6) and min(got) > 0
    # the full programme is still there for the batches that label all three
    model.zero_grad(set_to_none=True)
    _, weights = weighting.backward(_losses(exp, model, images, targets), ctx)
    assert all(v > 0 for v in weights.values()) and weighting.last_gramian.shape == (3, 3)


def test_missing_solver_is_refused_with_the_install_hint(monkeypatch):
    from workbench.experiment_check import validate_experiment
    from workbench.weighting.gradient_methods import GRADIENT_METHODS

    cfg = tiny_config()
    cfg.weighting = WeightingConfig(method="cagrad")
    spec = GRADIENT_METHODS["cagrad"]
    monkeypatch.setattr(type(spec), "missing", lambda self: ["cvxpy"])
    with pytest.raises(Exception, match=r"weighting.method.*pip install cvxpy"):
        validate_experiment(cfg)


def test_every_is_refused_for_methods_without_weights():
    from workbench.experiment_check import validate_experiment

    cfg = tiny_config()
    cfg.weighting = WeightingConfig(method="graddrop", params={"every": 4})
    with pytest.raises(Exception, match=r"weighting.params.every: graddrop has no task weights"):
        validate_experiment(cfg)
    cfg.weighting = WeightingConfig(method="nash_mtl", params={"path": "gramian"})
    with pytest.raises(Exception, match=r"weighting.params.path"):
        validate_experiment(cfg)


GRADIENT_NAMES = [
    m for m in WEIGHTINGS.names() if getattr(WEIGHTINGS.get(m), "needs", "") == "shared_param_grads"
]


STATEFUL_LOSS_METHODS = ["famo", "imtl_l", "stch", "geometric_mean"]  # torchjd scalarizers with state


@pytest.mark.parametrize("method", GRADIENT_NAMES + STATEFUL_LOSS_METHODS)
def test_resume_is_bit_exact_for_every_gradient_method(tmp_path, method):
    """Two epochs straight == one epoch, then a resume for the second: stateful methods
    (Nash-MTL, GradVac, ExcessMTL, SDMGrad, MoDo ...) carry their state in the checkpoint."""
    from workbench.training.checkpoint import load_checkpoint
    from workbench.training.run_store import RunStore
    from workbench.training.trainer import Trainer
    from workbench.weighting.gradient_methods import GRADIENT_METHODS

    spec = GRADIENT_METHODS.get(method)
    if spec is not None and spec.missing():
        pytest.skip(f"{method} needs {spec.missing()}")

    def config(epochs):
        cfg = tiny_config(TASKS[:2])
        cfg.train.epochs, cfg.train.batch_size, cfg.train.num_samples = epochs, 4, 0
        cfg.data.options.update(image_size=32, train_size=12, val_size=4)
        cfg.weighting = WeightingConfig(method=method)
        return cfg

    straight = RunStore.create(tmp_path / "a", "a")
    Trainer(config(2), straight).run()
    split = RunStore.create(tmp_path / "b", "b")
    Trainer(config(1), split).run()
    Trainer(config(2), RunStore(split.path), resume=True).run()
    a = load_checkpoint(straight.last_checkpoint, "last")
    b = load_checkpoint(split.last_checkpoint, "last")
    for key, value in a["model"].items():
        assert torch.equal(value, b["model"][key]), f"{method}: {key} differs after resume"


@pytest.mark.parametrize("method", ["config", "upgrad"])
def test_scaled_losses_give_the_scaled_update_of_the_true_gradients(method):
    """Under a GradScaler (scale s) the method must see the true gradients: the shared
    update is s times the unscaled one, so the scaler's unscale gives the same step."""
    exp, model, images, targets = _setup("small_cnn", 4)
    plain, _, w_plain = _method(exp, model, images, targets, _build(exp, method, path="jacobian"))
    model.zero_grad(set_to_none=True)
    ctx = _ctx(model)
    ctx.loss_scale = 1024.0
    ctx.scale = lambda t: t * 1024.0
    weighting = _build(exp, method, path="jacobian")
    _, w_scaled = weighting.backward(_losses(exp, model, images, targets), ctx)
    scaled = _grads(model)
    assert w_scaled == pytest.approx(w_plain, rel=1e-6)
    for key, value in plain.items():
        assert torch.allclose(scaled[key], value * 1024.0, rtol=1e-6, atol=1e-9), key


def test_a_one_task_experiment_with_a_gradient_method_trains_as_plain_training(tmp_path):
    """One task, Nash-MTL: the run says the method has nothing to combine and its weights
    equal those of the same experiment with the plain sum, bit for bit."""
    pytest.importorskip("cvxpy")
    from workbench.training.checkpoint import load_checkpoint
    from workbench.training.run_store import RunStore
    from workbench.training.trainer import Trainer

    final = {}
    for method in ("nash_mtl", "equal_sum"):
        cfg = tiny_config((("scene", "classification"),))
        cfg.train.epochs = 1
        cfg.weighting = WeightingConfig(method=method)
        store = RunStore.create(tmp_path, method)
        summary = Trainer(cfg, store).run()
        assert summary["status"] == "finished", summary.get("error")
        final[method] = (load_checkpoint(store.last_checkpoint)["model"], summary.get("notes", []))
    assert (
        "nash_mtl combines the gradients of several tasks, and this experiment has one: its gradient "
        "is used as it is" in final["nash_mtl"][1]
    )
    a, b = final["nash_mtl"][0], final["equal_sum"][0]
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize("path", ["jacobian", "gramian"])
def test_a_solver_failing_on_overflowing_gradients_stops_in_words(path, monkeypatch):
    """Nash-MTL fed gradients of losses near 1e24 (finite) failed the run with cvxpy's bare
    "ValueError: Parameter value must be real."; the method and the likely cause are named
    (the trainer adds the epoch, the step and the losses), and non-finite weights never
    reach the parameters."""
    exp, model, images, targets = _setup("small_cnn", 4)
    weighting = _build(exp, "upgrad", path=path)

    def solver_fails(*_args, **_kwargs):
        raise ValueError("Parameter value must be real.")

    monkeypatch.setattr(weighting, "_from_gramian", solver_fails)
    model.zero_grad(set_to_none=True)
    with pytest.raises(
        NonFiniteGradients, match=r"upgrad could not combine the task gradients \(ValueError: Parameter"
    ):
        weighting.backward(_losses(exp, model, images, targets), _ctx(model))
    monkeypatch.setattr(
        weighting, "_from_gramian", lambda *a: torch.tensor([float("nan")] * 3, dtype=torch.float64)
    )
    with pytest.raises(NonFiniteGradients, match="upgrad.*not finite"):  # its weights or its direction
        weighting.backward(_losses(exp, model, images, targets), _ctx(model))


def test_the_trainer_names_where_a_method_failed(tmp_path, monkeypatch):
    from workbench.training.run_store import RunStore
    from workbench.training.trainer import Trainer
    from workbench.weighting import gradient_weighting

    def fails(self, losses, ctx, present=None):
        raise NonFiniteGradients("nash_mtl could not combine the task gradients (ValueError: x)")

    monkeypatch.setattr(gradient_weighting.GradientWeighting, "backward", fails)
    cfg = tiny_config()
    cfg.weighting = WeightingConfig(method="upgrad")
    summary = Trainer(cfg, RunStore.create(tmp_path, "run")).run()
    assert summary["status"] == "failed"
    error = summary["error"]
    assert error.startswith(
        "nash_mtl could not combine the task gradients (ValueError: x) at epoch 1, step 1 (losses: "
    )
    assert "scene " in error and "; the run stopped" in error


@pytest.mark.parametrize("method", ["nash_mtl", "fairgrad", "imtl_g"])
def test_shared_gradients_all_zero_are_a_zero_shared_step(method):
    """Nothing to combine: the sum's weights of 1, no shared update, each task's own layers
    trained as usual (Nash-MTL's programme failed on them, reported as gradients "too
    large"; FairGrad logged weights of 512)."""
    spec = GRADIENT_METHODS[method]
    if spec.missing():
        pytest.skip(f"{method} needs {spec.missing()}")
    exp, model, _images, _targets = _setup("small_cnn", 2)
    weighting = _build(exp, method)
    model.zero_grad(set_to_none=True)
    ctx = _ctx(model)
    weighting.attach(ctx)
    # losses of the task-specific layers alone: the shared parameters get no gradient
    losses = {n: sum(p.square().sum() for p in model.heads[n].parameters()) for n in model.task_names}
    _, weights = weighting.backward(losses, ctx)
    assert weights == {n: 1.0 for n in model.task_names}
    assert all(p.grad is None or not p.grad.any() for p in model.shared_parameters())
    head = next(iter(model.heads[model.task_names[0]].parameters()))
    assert head.grad is not None and head.grad.any()


def test_upgrad_weights_in_training_do_not_change_with_the_loss_scale():
    """Late in training the shared gradients are short: under torchjd's 1e-4 on the
    Gramian's trace UPGrad's weights became the mean's. Scaled losses give the same weights."""
    exp, model, images, targets = _setup("small_cnn", 2)
    got = []
    for factor in (1.0, 1e-4):
        weighting = _build(exp, "upgrad")
        model.zero_grad(set_to_none=True)
        ctx = _ctx(model)
        weighting.attach(ctx)
        losses = {n: factor * v for n, v in _losses(exp, model, images, targets).items()}
        _, weights = weighting.backward(losses, ctx)
        got.append(weights)
    assert got[1] == pytest.approx(got[0], rel=1e-6)
