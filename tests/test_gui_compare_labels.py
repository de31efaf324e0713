from workbench.gui.main_window import short_labels


def test_compare_labels_drop_the_shared_prefix():
    assert short_labels(["exp-20261128-143737", "exp-20261128-143341"]) == ["143737", "143341"]
    assert short_labels(["alpha-1", "beta-2"]) == ["alpha-1", "beta-2"]
    assert short_labels(["run1", "run2"]) == ["run1", "run2"]
    assert short_labels(["only-one"]) == ["only-one"]
