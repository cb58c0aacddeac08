"""Within seed noise or decided: the verdicts headline sentences and counts rest on."""

import math

import pytest

from mmr_utils.metrics.seed_noise import NoiseVerdict, noise_aware_count, paired_verdict, within_seed_noise


def test_interval_containing_zero_is_within_noise():
    assert within_seed_noise(0.004, interval=(-0.001, 0.009)).within_noise
    verdict = within_seed_noise(0.004, interval=(0.001, 0.007))
    assert not verdict.within_noise and verdict.sign == 1 and verdict.noise == pytest.approx(0.003)


def test_standard_error_rule_uses_k_sd_over_root_n():
    # k * sd / sqrt(n) = 2 * 0.01 / 2 = 0.01: a difference of 0.011 is decided, 0.009 is not
    assert within_seed_noise(-0.011, sd=0.01, n=4).sign == -1
    assert within_seed_noise(0.009, sd=0.01, n=4).within_noise
    assert within_seed_noise(0.009, sd=0.01, n=4, k=0.5).sign == 1


def test_one_seed_or_missing_difference_is_never_decided():
    assert within_seed_noise(0.5, sd=0.0, n=1).within_noise
    assert within_seed_noise(float("nan"), sd=0.01, n=3).within_noise


@pytest.mark.parametrize("kwargs, message", [
    ({}, "either interval"), ({"sd": 0.1, "n": 3, "interval": (0, 1)}, "either interval"),
    ({"sd": -0.1, "n": 3}, "sd must be"), ({"sd": 0.1, "n": 0}, "n must be"),
    ({"interval": (1.0, 0.0)}, "above high"), ({"sd": 0.1, "n": 3, "k": -1}, "k must be")])
def test_bad_arguments_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        within_seed_noise(0.1, **kwargs)


def test_paired_verdict_of_per_seed_differences():
    decided = paired_verdict([0.010, 0.012, 0.011])
    assert decided.sign == 1 and decided.difference == pytest.approx(0.011)
    assert paired_verdict([0.010, -0.012, 0.004]).within_noise


def test_paired_verdict_with_infinite_seeds():
    assert paired_verdict([math.inf, 0.2, 0.3]).within_noise  # seeds disagree about reaching the target
    assert paired_verdict([-math.inf, -math.inf]).sign == -1
    with pytest.raises(ValueError, match="no per-seed difference"):
        paired_verdict([float("nan")])


def test_describe_marks_margins_within_noise():
    assert NoiseVerdict(0.0123, 0.002, False).describe() == "+0.012"
    assert NoiseVerdict(-0.0012, 0.004, True).describe() == "-0.001 (within seed noise, ±0.004)"


def test_noise_aware_count_leaves_undecided_items_out():
    verdicts = {"a": within_seed_noise(0.05, sd=0.01, n=3), "b": within_seed_noise(-0.05, sd=0.01, n=3),
                "c": within_seed_noise(0.001, sd=0.01, n=3)}
    assert noise_aware_count(verdicts) == {"above": ["a"], "below": ["b"], "within_noise": ["c"]}


def test_verdicts_against_a_baseline_pair_by_seed():
    import pandas as pd

    from mmr_utils.metrics.seed_noise import verdicts_against

    frame = pd.DataFrame({"router": ["best"] * 3 + ["a"] * 3 + ["b"] * 3, "seed": [0, 1, 2] * 3,
                          "Ps": [0.70, 0.80, 0.75, 0.72, 0.82, 0.77, 0.69, 0.83, 0.74]})
    verdicts = verdicts_against(frame, "best")
    # a is 0.02 above on every seed (decided, though the seeds' own spread is 0.05); b moves both ways
    assert verdicts["a"].sign == 1 and verdicts["a"].difference == pytest.approx(0.02)
    assert verdicts["b"].within_noise and set(verdicts) == {"a", "b"}
    with pytest.raises(ValueError, match="no router 'oracle'"):
        verdicts_against(frame, "oracle")


def test_verdicts_between_needs_every_comparison_decided():
    import pandas as pd

    from mmr_utils.metrics.seed_noise import verdicts_between

    rows = []
    for router, gaps in {"win": (0.02, 0.03), "lose": (0.02, -0.03), "tie": (0.02, 0.0)}.items():
        for seed, jitter in enumerate((0.0, 0.001, -0.001)):
            rows += [{"router": router, "seed": seed, "mode": "22", "nAUC_shared": 0.7 + jitter},
                     {"router": router, "seed": seed, "mode": "11", "nAUC_shared": 0.7 - gaps[0]},
                     {"router": router, "seed": seed, "mode": "33", "nAUC_shared": 0.7 - gaps[1] - jitter * (
                         router == "tie") * 3}]
    verdicts = verdicts_between(pd.DataFrame(rows), "mode", "22", ("11", "33"))
    assert verdicts["win"].sign == 1 and verdicts["win"].difference == pytest.approx(0.02)
    assert verdicts["lose"].sign == -1 and verdicts["lose"].difference == pytest.approx(-0.03)
    assert verdicts["tie"].within_noise
