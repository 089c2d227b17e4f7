"""Schedule parameters swept by path get their constructor's range checks."""

import pytest

import gdlab
from gdlab import schedules as S
from gdlab._validation import InvalidParameterError
from gdlab.sweeps._space import check_schedule

VALID = [
    S.constant(0.1),
    S.step(0.1, 10, 0.5),
    S.multistep(0.1, [10, 20], 0.5),
    S.exponential(0.1, 0.9, 10),
    S.exponential(0.1, 0.9, 10, end_value=0.01),
    S.inverse_time(0.1, 0.5, 10),
    S.polynomial(0.1, 0.0, 2.0, 100),
    S.cosine(0.1, 100, 0.1),
    S.sgdr(0.1, 10, 2.0),
    S.cyclic(0.01, 0.1, 10),
    S.warmup(S.cosine(0.1, 100), 10),
    S.join([S.constant(0.1), S.cosine(0.1, 50)], [50]),
    S.warmup_stable_decay(0.1, 10, 50, 40),
    S.lrbench("TRI", k0=0.1, k1=0.5, l=10),
    *S.one_cycle(0.1, 100).values(),
]


@pytest.mark.parametrize("schedule", VALID, ids=lambda s: s.kind)
def test_a_valid_schedule_passes_the_check(schedule):
    check_schedule(schedule, "learning_rate")  # no false refusal for any kind


@pytest.mark.parametrize("schedule, grid, parameter", [
    (S.cosine(1e-4, 100), {"learning_rate.alpha": [0.0, 5.0]}, "learning_rate.alpha"),
    (S.cosine(1e-4, 100), {"learning_rate.decay_steps": [100, -5]},
     "learning_rate.decay_steps"),
    (S.warmup(S.cosine(1e-4, 100), 5), {"learning_rate.schedule.alpha": [0.5, -1.0]},
     "learning_rate.schedule.alpha"),
    (S.exponential(1e-4, 0.9), {"learning_rate.decay_rate": [0.5, 0.0]},
     "learning_rate.decay_rate"),
])
def test_a_swept_schedule_value_out_of_range_is_refused_by_its_path(schedule, grid, parameter):
    spec = gdlab.optimizer("sgd", learning_rate=schedule)
    with pytest.raises(InvalidParameterError) as error:
        gdlab.sweep(gdlab.article_regression(), spec, grid, num_steps=10)
    assert error.value.parameter == parameter


def test_swept_schedule_values_in_range_run():
    spec = gdlab.optimizer("sgd", learning_rate=S.warmup(S.cosine(1e-4, 100), 5))
    result = gdlab.sweep(gdlab.article_regression(), spec,
                         {"learning_rate.schedule.alpha": [0.0, 0.5]}, num_steps=10)
    assert list(result.summary["learning_rate.schedule.alpha"]) == [0.0, 0.5]
