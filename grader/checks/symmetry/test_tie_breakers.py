"""Hidden checks of part `tie_breakers`: the dict BREAKS_SYMMETRY, one check per intervention."""
import pytest

from grader.i18n import _

# Identical units get identical updates unless something treats units differently: independent per-entry
# randomness (initial values, dropout masks, gradient noise) does; deterministic rules applied alike do not.
REFERENCE = {
    "random_init": True,
    "dropout": True,
    "gradient_noise": True,
    "weight_decay": False,
    "momentum": False,
    "larger_learning_rate": False,
    "batchnorm": False,
    "adam": False,
    "gradient_clipping": False,
    "data_augmentation": False,
}


@pytest.mark.parametrize("key", sorted(REFERENCE))
def test_answer(student, key):
    answers = student.get("BREAKS_SYMMETRY")
    assert isinstance(answers, dict), _("BREAKS_SYMMETRY 必须是一个 dict")
    assert key in answers, _("BREAKS_SYMMETRY 中没有 '{key}' 这一项").format(key=key)
    assert answers[key] is REFERENCE[key], _("BREAKS_SYMMETRY['{key}'] 不对").format(key=key)
