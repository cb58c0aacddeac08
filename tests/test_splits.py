"""Instance and cross-dataset splits (paper Sec. 5.1, official split) on the shared simulated table."""

import numpy as np
import pytest

from mmr_utils.data.splits import cross_dataset_split, instance_split


def test_instance_split_is_stratified_seeded_and_disjoint(sim_bank):
    bank = sim_bank
    table = bank.table
    a, b = instance_split(table, 0.2, seed=3), instance_split(table, 0.2, seed=3)
    np.testing.assert_array_equal(a.train, b.train)
    assert not set(a.train) & set(a.test) and len(a.train) + len(a.test) == table.n
    assert set(table.instances["dataset"].iloc[a.train]) == set(table.datasets)
    assert not np.array_equal(instance_split(table, 0.2, seed=4).train, a.train)
    with pytest.raises(ValueError, match="strictly between"):
        instance_split(table, 1.0)


def test_official_split_procedure_is_the_official_train_test_split(sim_bank):
    bank = sim_bank
    table = bank.table
    split = instance_split(table, 0.2, seed=42, procedure="official")
    # sklearn's ShuffleSplit with train_size=0.2: floor(0.2 n) training rows taken after the n_test first positions
    # of RandomState(42).permutation(n).
    n_train = int(np.floor(0.2 * table.n))
    permutation = np.random.RandomState(42).permutation(table.n)
    np.testing.assert_array_equal(split.test, np.sort(permutation[: table.n - n_train]))
    np.testing.assert_array_equal(split.train, np.sort(permutation[table.n - n_train:]))
    assert split.info["procedure"] == "official" and split.info["stratified"] is False
    assert not np.array_equal(instance_split(table, 0.2, seed=42).train, split.train)
    assert not np.array_equal(instance_split(table, 0.2, seed=41, procedure="official").train, split.train)
    with pytest.raises(ValueError, match="split procedure"):
        instance_split(table, 0.2, procedure="sklearn")


def test_cross_dataset_split_errors_on_empty_or_overlapping_sides(sim_bank):
    bank = sim_bank
    split = cross_dataset_split(bank.table, "ocrbench", "SEEDBENCH")
    assert set(bank.table.instances["dataset"].iloc[split.test]) == {"SEEDBench2_Plus"}
    with pytest.raises(ValueError, match="unknown dataset"):
        cross_dataset_split(bank.table, "OCRbench2", "seedbench")
    with pytest.raises(ValueError, match="both sides"):
        cross_dataset_split(bank.table, "ocrbench", "OCRBench")
