"""Datasets as the Daten page shows them: each table computed once per bundle."""

from __future__ import annotations

import pandas as pd

from essen_dash.datasets import DATASETS, dataset_frame


def test_each_dataset_is_computed_once_per_bundle_and_is_the_dataset(app_data):
    for name, dataset in DATASETS.items():
        first = dataset_frame(app_data, name)
        assert dataset_frame(app_data, name) is first, name
        pd.testing.assert_frame_equal(first, dataset.get(app_data), obj=name)
