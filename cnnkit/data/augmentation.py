"""Augmentation you can set and see: random rotations, shifts, scalings, shears and erased patches of every
training image, and for colour images flips and colour jitter, by ``torchvision.transforms.v2``.

``Augmentation`` holds the strengths (zero: off); ``apply`` draws a new transform for each image of a normalized
batch, seeded from the run's generator (a run is repeatable); ``preview`` shows one image under a dozen draws.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
import torch

from cnnkit import lazy
from cnnkit.errors import CnnkitError

LIMITS = {"rotation": 180.0, "shift": 0.5, "scale": 0.9, "shear": 60.0, "erasing": 1.0, "color_jitter": 1.0}


@dataclass(frozen=True, kw_only=True)
class Augmentation:
    """Strengths of the random changes of each training image; all zero (and no flips) is none."""

    rotation: float = 0.0  # degrees, either way
    shift: float = 0.0  # a share of the image's size, either way
    scale: float = 0.0  # a share of the size, bigger or smaller
    shear: float = 0.0  # degrees, either way
    erasing: float = 0.0  # the chance that a random rectangle of the image is blacked out
    flip: bool = False  # colour images: mirrored left to right half of the time
    color_jitter: float = 0.0  # colour images: brightness, contrast and saturation changed by up to this share

    @property
    def active(self) -> bool:
        return any(getattr(self, f.name) for f in fields(self))

    def validate(self) -> None:
        for name, most in LIMITS.items():
            value = getattr(self, name)
            if not 0 <= value <= most:
                raise CnnkitError("errors.augmentation_range", setting=name, value=value, most=most)

    def transform(self, channels: int):
        """The random transform of one image (C×H×W in [0, 1], black filling what moves in): a ``v2.Compose``.
        torchvision is imported here, by a run that augments (importing it costs a second: ``predict`` does not)."""
        v2 = lazy.module("torchvision.transforms.v2")

        steps = []
        if self.rotation or self.shift or self.scale or self.shear:
            steps.append(
                v2.RandomAffine(
                    degrees=self.rotation,
                    translate=(self.shift, self.shift) if self.shift else None,
                    scale=(1 - self.scale, 1 + self.scale) if self.scale else None,
                    shear=self.shear or None,
                    interpolation=v2.InterpolationMode.BILINEAR,
                    fill=0.0,
                )
            )
        if channels == 3 and self.flip:
            steps.append(v2.RandomHorizontalFlip())
        if channels == 3 and self.color_jitter:
            steps.append(
                v2.ColorJitter(brightness=self.color_jitter, contrast=self.color_jitter, saturation=self.color_jitter)
            )
        if self.erasing:
            steps.append(v2.RandomErasing(p=self.erasing, value=0.0))
        return v2.Compose(steps or [v2.Identity()])

    def apply(self, x: torch.Tensor, mean: float, std: float, generator: torch.Generator) -> torch.Tensor:
        """A normalized batch (N×C×H×W), each image under its own draw of the transform."""
        seed = int(torch.randint(2**62, (1,), generator=generator))
        return (self.draws(x * std + mean, seed) - mean) / std

    def draws(self, images: torch.Tensor, seed: int) -> torch.Tensor:
        """Each of ``images`` (N×C×H×W in [0, 1]) under its own draw, the draws seeded by ``seed``."""
        pipeline = self.transform(images.shape[1])
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            return torch.stack([pipeline(image) for image in images])


def preview(image: torch.Tensor, augmentation: Augmentation, draws: int = 12, seed: int = 0) -> list[np.ndarray]:
    """One uint8 image (H×W or C×H×W) under ``draws`` draws of ``augmentation``, as uint8 pictures (H×W or H×W×C)."""
    image = image.unsqueeze(0) if image.ndim == 2 else image
    varied = augmentation.draws(image.float().div(255).expand(draws, *image.shape), seed)
    pictures = varied.mul(255).round().clamp(0, 255).to(torch.uint8).numpy()
    return [p[0] if p.shape[0] == 1 else p.transpose(1, 2, 0) for p in pictures]
