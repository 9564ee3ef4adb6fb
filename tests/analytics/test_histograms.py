import random

from generations.analytics.histograms import COUNT_BITS, PackedSum, bin_index, pack, percentile, percentiles, unpack


def test_a_packed_histogram_unpacks_to_the_same_counts():
    counts = {-90: 1, -3: 7, 0: 2, 5: 1, 209: 40_000}

    assert unpack(*pack(counts)) == counts


def test_packed_histograms_with_different_lowest_bins_add_up_bin_by_bin():
    rng = random.Random(7)
    histograms = [{rng.randint(-20, 60): rng.randint(1, 10**6) for _ in range(30)} for _ in range(50)]
    expected: dict[int, int] = {}
    for counts in histograms:
        for index, count in counts.items():
            expected[index] = expected.get(index, 0) + count
    total = PackedSum()
    for counts in histograms:
        total.add(*pack(counts))

    assert total.counts() == expected
    assert unpack(*total.packed()) == expected


def test_counts_near_the_field_width_do_not_carry_into_the_next_bin():
    largest = (1 << COUNT_BITS) - 1
    total = PackedSum()
    total.add(*pack({3: largest // 2, 4: 1}))
    total.add(*pack({3: largest // 2 + 1}))

    assert total.counts() == {3: largest, 4: 1}


def test_percentiles_of_one_histogram_match_each_percentile_alone():
    counts = {bin_index(value): 1 for value in range(1, 500)}

    assert percentiles(counts, (0.5, 0.95, 0.99)) == [percentile(counts, f) for f in (0.5, 0.95, 0.99)]
    assert percentiles({}, (0.5, 0.95)) == [None, None]
