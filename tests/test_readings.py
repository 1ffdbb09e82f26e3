"""The baselines' readings: written by the tuning steps, read back, and said in the captions."""

import pytest

from tact.readings import (
    bm3d_sigma,
    fbp_reading,
    read_fbp_reading,
    read_readings,
    write_bm3d_sigma,
    write_fbp_reading,
)


def test_a_tuned_reading_is_read_back_only_where_the_config_says_auto(tmp_path):
    tuned = tmp_path / "fbp_scaling.json"
    write_fbp_reading(tuned, "Cosine", 0.437, psnr_db=33.9, n_slices=8)
    assert read_fbp_reading(tuned) == ("Cosine", 0.437)
    assert fbp_reading("auto", "auto", tuned) == ("Cosine", 0.437)
    assert fbp_reading("Hann", "auto", tuned) == ("Hann", 0.437)
    assert fbp_reading("auto", 0.641, tuned) == ("Cosine", 0.641)
    assert fbp_reading("Hann", 0.641, None) == ("Hann", 0.641)
    swept = tmp_path / "bm3d_sigma.json"
    write_bm3d_sigma(swept, 0.05, 8)
    assert bm3d_sigma("auto", swept) == 0.05 and bm3d_sigma(0.075, None) == 0.075
    with pytest.raises(FileNotFoundError):
        bm3d_sigma("auto", tmp_path / "missing.json")


def test_the_caption_sentence_says_which_reading_and_how_it_was_chosen(tmp_path):
    tuned, swept = tmp_path / "fbp.json", tmp_path / "sigma.json"
    write_fbp_reading(tuned, "Hann", 0.4372, psnr_db=33.9, n_slices=8)
    write_bm3d_sigma(swept, 0.2, 8)
    assert read_readings(
        fbp_filter="Hann",
        fbp_scaling="auto",
        fbp_tuned_file=tuned,
        sigma_psd="auto",
        sigma_file=swept,
    ).sentence() == (
        "FBP: Hann filter, frequency scaling 0.437 (tuned for PSNR on training slices); "
        "BM3D: sigma_psd 0.2 (the paper's sweep on training slices)"
    )
    assert read_readings(
        fbp_filter="Ram-Lak", fbp_scaling=1.0, fbp_tuned_file=None, sigma_psd=0.075, sigma_file=None
    ).sentence() == (
        "FBP: Ram-Lak filter, frequency scaling 1 (fixed); BM3D: sigma_psd 0.075 (fixed)"
    )
