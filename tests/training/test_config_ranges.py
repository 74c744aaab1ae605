"""Settings out of their range are refused when the config is read, naming the setting: the EMA's warm-up power
(at or below 0 the average left the weights, and its checkpoints' unet/ holds that average), the validation settings
(a bad one failed at the first validation, maybe hours in), the learning-rate schedule and Adam's constants (silent, a
non-finite loss at step 2, or torch's words naming neither)."""

from __future__ import annotations

import pytest

from genxd.training.config import TrainConfig, VAETrainConfig, load_config

from .conftest import TINY, TINY_VAE


@pytest.mark.parametrize("override, message", [
    ("training.ema.power=-1", "ema.power must be > 0, got -1.0"),
    ("training.ema.power=0", "ema.power must be > 0, got 0.0"),
    ("training.ema.start_step=-5", "ema.start_step must be >= 0, got -5"),
    ("validation.num_inference_steps=0", "validation.num_inference_steps must be an integer >= 1, got 0"),
    ("validation.num_samples=-1", "validation.num_samples must be an integer >= 0, got -1"),
    # read into memory before step 1, without bound (train-vae: as many as loss.scale_samples too)
    ("validation.num_samples=257", "validation.num_samples must be at most 256 (clips held in memory for every "
                                   "validation), got 257"),
    ("validation.every_steps=-2", "validation.every_steps must be an integer >= 0, got -2"),
    ("validation.fps=0", "validation.fps must be a finite number in [0.01, 1000], got 0.0 (frames per second)"),
    ("validation.fps=1e-9", "validation.fps must be a finite number in [0.01, 1000], got 1e-09"),  # failed at the
    ("validation.fps=1e12", "validation.fps must be a finite number in [0.01, 1000], got 1000000000000.0"),  # first validation
    # sampled without guidance, without a word (the pipeline guides above 1 only)
    ("validation.guidance_scale=0.5", "validation.guidance_scale must be a finite number in [1, 100], got 0.5"),
    ("validation.guidance_scale=-3", "validation.guidance_scale must be a finite number in [1, 100], got -3.0"),
    ("validation.seed=-1", "validation.seed must be an integer in 0..9223372036854775807, got -1"),
    # torch's generator failed at the first validation: 'Overflow when unpacking long'
    ("validation.seed=99999999999999999999999", "validation.seed must be an integer in 0..9223372036854775807"),
    ("training.lr_warmup_steps=-3", "training.lr_warmup_steps must be >= 0, got -3"),
    ("training.min_lr_ratio=2", "training.min_lr_ratio must be in [0, 1], got 2.0"),
    ("training.adam_beta1=1.5", "training.adam_beta1 must be in [0, 1), got 1.5"),
    ("training.adam_beta2=1", "training.adam_beta2 must be in [0, 1), got 1.0"),
    ("training.adam_epsilon=0", "training.adam_epsilon must be > 0, got 0.0"),
    ("training.weight_decay=-1", "training.weight_decay must be >= 0, got -1.0"),
    # a MemoryError / 'int too big to convert' traceback once the model was built
    ("training.batch_size=99999999999", "training.batch_size must be at most 65536 (clips per process in one "
                                        "micro-batch, held in memory together), got 99999999999"),
    ("training.gradient_accumulation_steps=99999999999999999999", "training.gradient_accumulation_steps must be at "
     "most 65536 (micro-batches per optimiser step), got 99999999999999999999"),
    ("training.max_grad_norm=-1", "training.max_grad_norm must be >= 0 (0: no clipping), got -1.0"),  # no clipping
    # refused only when the data was built, naming no setting: "length must be >= 1, got 0"
    ("data.length=0", "data.length must be >= 1 or null, got 0"),
    # "data.height/width must be >= 8, got 0xNone"
    ("data.height=0", "data.height must be >= 8, got 0"),
    ("data.width=4", "data.width must be >= 8, got 4"),
    ("logging.every_steps=-5", "logging.every_steps must be an integer >= 0 (0: every step), got -5"),  # every step
])
@pytest.mark.parametrize("config, kind", [(TINY, "genxd"), (TINY_VAE, "vae")], ids=["train", "train-vae"])
def test_a_setting_out_of_range_is_refused_when_read(override, message, config, kind):
    with pytest.raises(ValueError) as caught:
        load_config(config, [override], kind=kind)
    assert message in str(caught.value)


@pytest.mark.parametrize("override", ["training.ema.power=0.75", "training.ema.start_step=0", "validation.num_samples=0",
                                      "validation.num_samples=256",
                                      "validation.fps=0.5", "validation.fps=0.01", "validation.fps=1000", "training.min_lr_ratio=1", "training.adam_beta2=0",
                                      "validation.guidance_scale=1", "validation.guidance_scale=100", "validation.seed=0",
                                      "validation.seed=9223372036854775807",
                                      "training.weight_decay=0", "training.max_grad_norm=0", "training.batch_size=65536", "training.lr_warmup_steps=0", "data.length=1",
                                      "data.height=8", "data.width=8", "logging.every_steps=0"])
def test_the_edges_of_the_ranges_are_kept(override):
    load_config(TINY, [override])


@pytest.mark.parametrize("override, message", [
    # ran every step, then failed at the first checkpoint: 'torch.cat(): expected a non-empty list of Tensors'
    (["loss.scale_samples=0"], "loss.scale_samples must be an integer >= 1 (clips that measure the latent scaling "
                               "factor), got 0"),
    (["loss.scale_samples=-3"], "loss.scale_samples must be an integer >= 1"),
    # held that many clips in memory before step 1, without bound (capped only at the data's size)
    (["loss.scale_samples=100000"], "loss.scale_samples must be at most 256 (clips held in memory to measure the "
                                    "latent scaling factor), got 100000"),
    (["loss.kl_weight=-1"], "loss.kl_weight must be >= 0, got -1.0"),  # trained, pushing the latents apart
    (["loss.l2_weight=-0.5"], "loss.l2_weight must be >= 0, got -0.5"),
    # a loss of 0 at every step: trained nothing, and saved the VAE as it began
    (["loss.l1_weight=0", "loss.l2_weight=0"], "loss.l1_weight and loss.l2_weight are both 0: nothing trains the "
                                               "reconstruction"),
])
def test_a_vae_loss_setting_out_of_range_is_refused_when_read(override, message):
    with pytest.raises(ValueError) as caught:
        load_config(TINY_VAE, override, kind="vae")
    assert message in str(caught.value)


@pytest.mark.parametrize("override", [["loss.scale_samples=1"], ["loss.scale_samples=256"], ["loss.kl_weight=0"],
                                      ["loss.l1_weight=0", "loss.l2_weight=1"]])
def test_the_edges_of_the_vae_loss_ranges_are_kept(override):
    load_config(TINY_VAE, override, kind="vae")


@pytest.mark.parametrize("seed", ["-1", "4294967296"])
@pytest.mark.parametrize("config, kind", [(TINY, "genxd"), (TINY_VAE, "vae")], ids=["train", "train-vae"])
def test_a_run_seed_numpy_cannot_take_is_refused_when_read(seed, config, kind):
    """The run seeds numpy's generator (accelerate's set_seed), which takes 0..2**32 - 1: a seed outside was refused
    only once the run was set up, in numpy's words, which name no setting ("Seed must be between 0 and 2**32 - 1")."""
    with pytest.raises(ValueError) as caught:
        load_config(config, [f"seed={seed}"], kind=kind)
    assert f"seed must be an integer in 0..4294967295, got {seed}" in str(caught.value)


@pytest.mark.parametrize("seed", ["0", "4294967295"])
@pytest.mark.parametrize("config, kind", [(TINY, "genxd"), (TINY_VAE, "vae")], ids=["train", "train-vae"])
def test_the_edges_of_the_run_seed_range_are_kept(seed, config, kind):
    assert load_config(config, [f"seed={seed}"], kind=kind).seed == int(seed)


@pytest.mark.parametrize("seed, message", [(True, "seed must be an integer, got True (bool)"),
                                           ("7", "seed must be an integer, got '7' (str)"),
                                           (1.5, "seed must be an integer, got 1.5"),
                                           (-1, "seed must be an integer in 0..4294967295, got -1")])
@pytest.mark.parametrize("cls", [TrainConfig, VAETrainConfig], ids=["train", "train-vae"])
def test_a_run_seed_given_from_python_is_checked_as_every_integer_setting(cls, seed, message):
    """A config made in Python (no YAML, whose reader refuses another type first): its run seed is checked as the
    other integer settings are (genxd.validation's Int). True was taken for seed 1 and 1.5 kept, in silence; "7"
    was a TypeError comparing an int with a str, naming no setting."""
    with pytest.raises(ValueError) as caught:
        cls(seed=seed)
    assert str(caught.value) == message


@pytest.mark.parametrize("cls", [TrainConfig, VAETrainConfig], ids=["train", "train-vae"])
def test_a_whole_float_run_seed_from_python_is_kept_as_an_integer(cls):
    seed = cls(seed=3.0).seed
    assert seed == 3 and type(seed) is int


@pytest.mark.parametrize("override, message", [
    ("training.compile=true", "training.compile: true is a setting of genxd train (torch.compile of the UNet's "
                              "forward), which genxd train-vae does not read: leave it out"),
    ("training.object_loss_weight=8", "training.object_loss_weight: 8.0 is a setting of genxd train"),
    ("validation.num_inference_steps=50", "validation.num_inference_steps: 50 is a setting of genxd train"),
    ("validation.guidance_scale=2", "validation.guidance_scale: 2.0 is a setting of genxd train"),
    ("validation.seed=7", "validation.seed: 7 is a setting of genxd train"),
])
def test_a_unet_setting_in_a_vae_config_is_refused_when_read(override, message):
    """Settings of the sections both trainers share that only genxd train reads: set in a VAE config, they were
    ignored without a word (training.compile: true trained the VAE uncompiled)."""
    with pytest.raises(ValueError) as caught:
        load_config(TINY_VAE, [override], kind="vae")
    assert message in str(caught.value)
    load_config(TINY, [override])  # genxd train reads them


def test_a_runs_own_config_listing_unet_settings_is_kept(tmp_path):
    """A run's own config.yaml (what a resume reads) lists every setting of each section: at their defaults, or
    (a run of before these were refused) at the values it was given and ignored; a user's file with the same
    lines is refused."""
    import yaml

    from genxd.training.checkpoint_files import CONFIG_MARK
    from genxd.training.config import config_to_dict

    listed = config_to_dict(load_config(TINY_VAE, kind="vae"))
    listed["training"]["compile"] = True
    written = tmp_path / "config.yaml"
    written.write_text(f"{CONFIG_MARK}\n" + yaml.safe_dump(listed))
    assert load_config(written, kind="vae").training.compile is True  # ignored, as before
    users = tmp_path / "mine.yaml"
    users.write_text(yaml.safe_dump(listed))
    with pytest.raises(ValueError, match="training.compile: true is a setting of genxd train"):
        load_config(users, kind="vae")


def test_a_unet_setting_at_its_default_or_beside_list_overrides_is_judged_alone(tmp_path):
    load_config(TINY_VAE, ["training.compile=false", "validation.seed=0"], kind="vae")  # defaults: kept
    with pytest.raises(ValueError, match="validation.seed: 3 is a setting of genxd train"):
        load_config(TINY_VAE, ["data.datasets.0.length=2", "validation.seed=3"], kind="vae")
