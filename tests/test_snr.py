import math

import numpy as np
import pytest
import torch

from commae import snr


def test_db_round_trip_on_floats_arrays_and_tensors():
    for value in (0.37, np.array([0.1, 1.0, 7.5]), torch.tensor([0.1, 1.0, 7.5], dtype=torch.float64)):
        back = snr.db_to_linear(snr.linear_to_db(value))
        assert np.allclose(np.asarray(back), np.asarray(value), rtol=1e-12)
    assert type(snr.db_to_linear(3.0)) is float
    assert isinstance(snr.db_to_linear(np.array([3.0])), np.ndarray)
    assert isinstance(snr.db_to_linear(torch.tensor([3.0])), torch.Tensor)


@pytest.mark.parametrize("k, n, coderate", [(1, 1, 1.0), (4, 1, 1.0), (4, 7, 1.0), (2, 1, 0.5), (8, 2, 1.0)])
def test_ebno_esno_no_agree(k, n, coderate):
    ebno_db = 6.0
    r = coderate * k / n
    esno_db = snr.ebno_db_to_esno_db(ebno_db, k, n, coderate)
    assert esno_db == pytest.approx(ebno_db + 10 * math.log10(r))
    no = snr.ebno_db_to_no(ebno_db, k, n, coderate)
    assert no == pytest.approx(1 / (r * 10 ** (ebno_db / 10)))
    assert no == pytest.approx(snr.esno_db_to_no(esno_db))
    assert snr.no_to_ebno_db(no, k, n, coderate) == pytest.approx(ebno_db)
    assert snr.esno_db_to_ebno_db(esno_db, k, n, coderate) == pytest.approx(ebno_db)
    assert snr.no_to_esno_db(no) == pytest.approx(esno_db)


def test_known_values():
    # 16-QAM: Es/N0 = Eb/N0 + 10 log10(4) = Eb/N0 + 6.0206 dB
    assert snr.ebno_db_to_esno_db(7.0, k=4) == pytest.approx(13.0206, abs=1e-4)
    # Hamming (7,4): N0 = 7 / (4 Eb/N0)
    assert snr.ebno_db_to_no(0.0, k=4, n=7) == pytest.approx(1.75)
    # noise per real dimension
    assert snr.noise_std_per_real_dim(2.0) == pytest.approx(1.0)
    assert snr.esno_to_snr(3.0, real=True) == 6.0 and snr.esno_to_snr(3.0) == 3.0


def test_tensor_inputs_keep_shape_and_device(device):
    ebno = torch.linspace(0, 10, 11, device=device)
    no = snr.ebno_db_to_no(ebno, k=2)
    assert no.shape == ebno.shape and no.device.type == device.type


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(k=0), "k must be a positive integer"),
        (dict(k=2.5), "k must be a positive integer"),
        (dict(k=2, n=0), "n must be a positive integer"),
        (dict(k=2, coderate=0.0), r"coderate must be in \(0, 1\]"),
        (dict(k=2, coderate=1.5), r"coderate must be in \(0, 1\]"),
    ],
)
def test_bad_rates_name_the_argument(kwargs, match):
    with pytest.raises(ValueError, match=match):
        snr.ebno_db_to_no(3.0, **kwargs)


def test_linear_to_db_rejects_non_positive():
    for bad in (0.0, np.array([1.0, -1.0]), torch.tensor([0.0])):
        with pytest.raises(ValueError, match="must be positive"):
            snr.linear_to_db(bad)
    with pytest.raises(ValueError, match="must be positive"):
        snr.no_to_ebno_db(torch.tensor([-1.0, 0.5]), k=2)
