import pytest

from workbench.config import ConfigError, config_to_toml, default_experiment
from workbench.experiment_check import config_from_toml_text, load_config, save_config, validate_experiment


def test_default_experiment_is_valid_and_round_trips(tmp_path):
    cfg = default_experiment()
    validate_experiment(cfg)
    path = tmp_path / "exp.toml"
    save_config(cfg, path)
    assert load_config(path) == cfg


def test_every_field_survives_toml(tmp_path):
    cfg = default_experiment()
    cfg.optim.lr = 0.01
    cfg.train.device = "cuda:1"
    cfg.model.sharing_depth = 2
    cfg.tasks[0].options = {"label_smoothing": 0.1}
    cfg.weighting.method = "dwa"
    cfg.weighting.params = {"temperature": 3.0}
    assert config_from_toml_text(config_to_toml(cfg)) == cfg


@pytest.mark.parametrize(
    ("toml", "path", "words"),
    [
        ("[train]\nepcohs = 3\n", "train.epcohs", "unknown key"),
        ("[optim]\nlr = 'fast'\n", "optim.lr", "expected a number"),
        ("[optim]\nlr = 0\n", "optim.lr", "> 0"),
        ("[optim]\noptimizer = 'lbfgs'\n", "optim.optimizer", "adamw"),
        ("[model]\nbackbone = 'vgg'\n", "model.backbone", "resnet18"),
        ("[model]\nsharing_depth = 9\n", "model.sharing_depth", "between 0 and 4"),
        ("[train]\ndevice = 'gpu'\n", "train.device", "cuda:N"),
        ("[data.shapes]\nnum_classes = 12\n", "data.options.num_classes", "between 2 and 8"),
        ("[weighting]\nmethod = 'magic'\n", "weighting.method", "uncertainty"),
        (
            "[weighting]\nmethod = 'dwa'\n[weighting.params]\ntemperature = -1.0\n",
            "weighting.params.temperature",
            "between 0.01 and 100",
        ),
        ("[train]\nearly_stopping_metric = 'scene/bogus'\n", "train.early_stopping_metric", "accuracy"),
        # a task alone was "task 'scene' has no metric ''"
        (
            "[train]\nearly_stopping_metric = 'scene'\n",
            "train.early_stopping_metric",
            "'scene' must be 'task/metric', e.g. 'scene/accuracy'",
        ),
        (
            "[train]\nearly_stopping_metric = 'scene/'\n",
            "train.early_stopping_metric",
            "e.g. 'scene/accuracy'",
        ),
        # the example names the task given, with its own metric ('cnt/' suggested 'scene/mae')
        (
            "[[tasks]]\nname = 'masks'\nkind = 'segmentation'\n[train]\nearly_stopping_metric = 'masks/'\n",
            "train.early_stopping_metric",
            "e.g. 'masks/miou'",
        ),
        # a control character in any path field (a bell; a tab from "C:\temp.pt" in double quotes)
        (
            '[model]\npretrained = "file"\nweights_file = "w\\u0007.pt"\n',
            "model.weights_file",
            "holds the control",
        ),
        ('[model]\npretrained = "file"\nweights_file = "C:\\temp.pt"\n', "model.weights_file", "holds a tab"),
    ],
)
def test_bad_values_name_the_field(toml, path, words):
    tasks = "[[tasks]]\nname = 'scene'\nkind = 'classification'\n"
    with pytest.raises(ConfigError) as info:
        config_from_toml_text(tasks + toml)
    assert info.value.path == path
    assert words in str(info.value)


def test_task_errors():
    with pytest.raises(ConfigError, match="tasks: at least one task"):
        config_from_toml_text("")
    with pytest.raises(ConfigError, match=r"tasks\[1\].name: duplicate"):
        config_from_toml_text("[[tasks]]\nname='a'\nkind='counting'\n[[tasks]]\nname='a'\nkind='counting'\n")
    with pytest.raises(ConfigError, match=r"tasks\[0\].kind: 'depth'"):
        config_from_toml_text("[[tasks]]\nname='a'\nkind='depth'\n")
    with pytest.raises(ConfigError, match=r"tasks\[0\].options.loss"):
        config_from_toml_text("[[tasks]]\nname='a'\nkind='counting'\n[tasks.options]\nloss='cubic'\n")


def test_file_errors(tmp_path):
    with pytest.raises(ConfigError, match="cannot read config file"):
        load_config(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[train\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(bad)
