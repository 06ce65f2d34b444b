"""Draw the planar leg with its muscles coloured by activation (no GPU, no 3D camera).

Pillow draws lines in microseconds, where PyBullet's TinyRenderer needs ~23 ms for 320x240
(engineering notes) and shows no muscles at all.
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from .body.kinematics import forward_kinematics
from .physiology.model import MUSCLE_NAMES, LegModel

WIDTH_PX, HEIGHT_PX = 400, 320
VIEW_X_M = (-0.9, 1.0)  # world window shown
VIEW_Z_M = (-0.05, 2.1)
BACKGROUND = (250, 250, 247)
BONE = (90, 90, 90)
GROUND = (120, 110, 95)
TEXT = (30, 30, 30)
TARGET = (20, 150, 60)
TARGET_HALF_PX = 7  # half the size of the target's cross
KEY_PX = (12, 80)  # height and width of the colour key's bar
# Muscle attachments: (segment, fraction along it from proximal, offset in m, + = front).
# Schematic lines of action for display, chosen to show which side of each joint a muscle crosses.
ATTACHMENTS: dict[str, tuple[tuple[str, float, float], tuple[str, float, float]]] = {
    "HFL": (("trunk", 0.12, 0.07), ("thigh", 0.18, 0.045)),
    "GLU": (("trunk", 0.10, -0.09), ("thigh", 0.25, -0.05)),
    "HAM": (("trunk", 0.02, -0.07), ("shank", 0.10, -0.05)),
    "RF": (("trunk", 0.06, 0.05), ("shank", 0.06, 0.065)),
    "VAS": (("thigh", 0.35, 0.06), ("shank", 0.08, 0.06)),
    "BFSH": (("thigh", 0.55, -0.045), ("shank", 0.12, -0.035)),
    "GAS": (("thigh", 0.92, -0.05), ("foot", -1.0, 0.03)),
    "SOL": (("shank", 0.35, -0.045), ("foot", -1.0, 0.0)),
    "TA": (("shank", 0.30, 0.045), ("foot", 0.45, 0.05)),
}


def activation_colour(a: float) -> tuple[int, int, int]:
    """Blue (silent) to red (fully active)."""
    a = min(max(a, 0.0), 1.0)
    return (int(40 + 215 * a), int(90 * (1 - a) + 30), int(220 * (1 - a) + 30))


class LegRenderer:
    def __init__(self, model: LegModel, width: int = WIDTH_PX, height: int = HEIGHT_PX) -> None:
        self.model = model
        self.width, self.height = width, height
        self.scale = min(width / (VIEW_X_M[1] - VIEW_X_M[0]), height / (VIEW_Z_M[1] - VIEW_Z_M[0]))

    def _px(self, p: np.ndarray) -> tuple[float, float]:
        return ((p[0] - VIEW_X_M[0]) * self.scale, self.height - (p[1] - VIEW_Z_M[0]) * self.scale)

    def _segments(
        self, q: np.ndarray, hip: tuple[float, float], pitch: float = 0.0
    ) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        pts = forward_kinematics(self.model, q, hip, pitch)
        trunk = self.model.body.segments["trunk"].length
        trunk_top = pts["hip"] + trunk * np.array([-math.sin(pitch), math.cos(pitch)])
        return {
            "trunk": (pts["hip"], trunk_top),
            "thigh": (pts["hip"], pts["knee"]),
            "shank": (pts["knee"], pts["ankle"]),
            "foot": (pts["heel"], pts["toe"]),
        }

    @staticmethod
    def _point(seg: tuple[np.ndarray, np.ndarray], frac: float, offset: float, forward: bool = True) -> np.ndarray:
        a, b = seg
        d = b - a
        n = np.array([-d[1], d[0]]) / max(float(np.hypot(*d)), 1e-9)  # left normal
        if n[0] < 0:  # make +offset point forward (+x) for limb segments
            n = -n
        if frac < 0:  # heel (Achilles insertion)
            return a + np.array([0.0, offset])
        return a + frac * d + offset * n

    def draw(
        self,
        q: np.ndarray,
        hip: tuple[float, float],
        activation: np.ndarray,
        crank: tuple[float, float, float, float] | None = None,
        pitch: float = 0.0,
        time_s: float | None = None,
        target: tuple[float, float] | None = None,
    ) -> np.ndarray:
        """An RGB frame; `pitch` is the pelvis pitch (rad, negative = trunk leaning forward). With
        `time_s` the frame carries its time; `target` (world x, z in m) is drawn as a green cross."""
        img = Image.new("RGB", (self.width, self.height), BACKGROUND)
        g = ImageDraw.Draw(img)
        self._annotate(g, time_s)
        if target is not None:
            x, z = self._px(np.asarray(target))
            h = TARGET_HALF_PX
            g.line([(x - h, z - h), (x + h, z + h)], fill=TARGET, width=3)
            g.line([(x - h, z + h), (x + h, z - h)], fill=TARGET, width=3)
        g.line([self._px(np.array([VIEW_X_M[0], 0.0])), self._px(np.array([VIEW_X_M[1], 0.0]))], fill=GROUND, width=3)
        segs = self._segments(q, hip, pitch)
        if crank is not None:
            cx, cz, length, angle = crank
            centre = np.array([cx, cz])
            pedal = centre + length * np.array([math.sin(angle), math.cos(angle)])
            r = length * self.scale
            x, z = self._px(centre)
            g.ellipse([x - r, z - r, x + r, z + r], outline=(170, 170, 170), width=2)
            g.line([self._px(centre), self._px(pedal)], fill=(60, 60, 60), width=4)
        for name, (a, b) in segs.items():
            g.line([self._px(a), self._px(b)], fill=BONE, width=9 if name == "trunk" else 7)
        for joint in ("hip", "knee", "ankle"):
            p = segs["shank"][0] if joint == "knee" else (segs["thigh"][0] if joint == "hip" else segs["shank"][1])
            x, z = self._px(p)
            g.ellipse([x - 5, z - 5, x + 5, z + 5], fill=(40, 40, 40))
        for i, name in enumerate(MUSCLE_NAMES):
            (s1, f1, o1), (s2, f2, o2) = ATTACHMENTS[name]
            p1 = self._point(segs[s1], f1, o1)
            p2 = self._point(segs[s2], f2, o2)
            a = float(activation[i])
            g.line([self._px(p1), self._px(p2)], fill=activation_colour(a), width=int(2 + 5 * a))
        return np.asarray(img, dtype=np.uint8)

    def _annotate(self, g: ImageDraw.ImageDraw, time_s: float | None) -> None:
        """The time stamp (top left) and the colour key of muscle activation (top right)."""
        font = ImageFont.load_default()
        if time_s is not None:
            g.text((8, 6), f"t = {time_s:.2f} s", fill=TEXT, font=font)
        bar_h, bar_w = KEY_PX
        x0, y0 = self.width - bar_w - 12, 8
        for k in range(bar_w):
            g.line([(x0 + k, y0), (x0 + k, y0 + bar_h)], fill=activation_colour(k / (bar_w - 1)))
        g.text((x0 - 10, y0), "0", fill=TEXT, font=font)
        g.text((x0 + bar_w + 3, y0), "1", fill=TEXT, font=font)
        g.text((x0, y0 + bar_h + 2), "activation", fill=TEXT, font=font)
