"""Fake of libero.libero.envs.OffScreenRenderEnv (see ../../../README.md)."""
import math
import os
import threading

import numpy as np

from libero.libero import benchmark

# The agent view as a [::-1] strided view of the scene (default: exercises the plugin's copy of strided frames), or,
# when True, as real LIBERO hands it: robosuite 1.4's "opengl" convention returns the contiguous render buffer, whose
# rows run bottom to top (the scene flipped vertically, not rotated: LIBERO's own video writer saves img[::-1]).
AGENT_VIEW_CONTIGUOUS = False

# Task names (e.g. "OPEN_THE_MIDDLE_DRAWER_OF_THE_CABINET") whose OffScreenRenderEnv(...) raises, as a real one does
# when MuJoCo cannot create its GL context or a bddl file does not parse. Tests add and remove names.
FAIL_ON_CREATE = set()

ACTION_DIM = 7
STEP_SCALE = 0.05
SUCCESS_TOLERANCE = 0.025


class _RobosuiteEnv:
    """Stands for the robosuite env LIBERO wraps as ``env.env`` (only ``action_spec``, read by tools/libero-check)."""

    @property
    def action_spec(self):
        # OSC_POSE (6) + gripper (1), robosuite's (low, high) arrays.
        return -np.ones(ACTION_DIM), np.ones(ACTION_DIM)


class OffScreenRenderEnv:
    def __init__(self, **kwargs):
        bddl = kwargs.get("bddl_file_name")
        if bddl is None:
            raise TypeError("OffScreenRenderEnv needs bddl_file_name")
        if not os.path.isfile(bddl):
            raise FileNotFoundError(f"bddl file not found: {bddl}")
        found = benchmark.find_task(bddl)
        if found is None:
            raise ValueError(f"{bddl} is not a task of any suite")
        self.suite, self.task_id, self.task = found
        if self.task.name in FAIL_ON_CREATE:
            raise RuntimeError(f"fake MuJoCo: could not create the OpenGL context for {self.task.name}")
        self.height = int(kwargs.get("camera_heights", 128))
        self.width = int(kwargs.get("camera_widths", 128))
        # Like a MuJoCo OpenGL context: bound to the creating thread.
        self.render_thread = threading.get_ident()
        self.received_actions = []
        self.step_count = 0
        self.closed = False
        self.seed_value = None
        self.state = np.zeros(benchmark.STATE_SIZE, dtype=np.float64)
        self.env = _RobosuiteEnv()

    # --- LIBERO API -------------------------------------------------------------------------------------------
    def seed(self, seed):
        self.seed_value = seed
        np.random.seed(seed)

    def reset(self):
        self._check_open()
        self.state = np.zeros(benchmark.STATE_SIZE, dtype=np.float64)
        self.state[3] = 0.05 * 3
        self.step_count = 0
        return self._obs()

    def set_init_state(self, init_state):
        self._check_open()
        s = np.asarray(init_state, dtype=np.float64)
        if s.shape != (benchmark.STATE_SIZE,):
            raise ValueError(f"init state must have shape ({benchmark.STATE_SIZE},), got {s.shape}")
        self.state = s.copy()
        self.step_count = 0
        return self._obs()

    def step(self, action):
        self._check_open()
        if len(action) != ACTION_DIM:
            raise ValueError(f"action must have {ACTION_DIM} values, got {len(action)}")
        a = [float(v) for v in action]
        if not all(math.isfinite(v) and -1.0 <= v <= 1.0 for v in a):
            raise ValueError(f"action out of the action space [-1, 1]: {a}")
        self.received_actions.append(a)
        self.step_count += 1
        if self.state[7] > 0 and self.step_count == int(self.state[7]):
            raise RuntimeError(f"fake MuJoCo: simulation became unstable (fault injected at step {self.step_count})")
        self.state[0:3] += STEP_SCALE * np.asarray(a[0:3])
        self.state[6] = a[6]
        done = self.check_success()
        return self._obs(), 1.0 if done else 0.0, done, {}

    def check_success(self):
        return bool(np.all(np.abs(self.state[0:3] - self.state[3:6]) < SUCCESS_TOLERANCE))

    def close(self):
        self.closed = True

    # --- rendering ----------------------------------------------------------------------------------------------
    def _check_open(self):
        if self.closed:
            raise RuntimeError("env is closed")

    def _obs(self):
        if threading.get_ident() != self.render_thread:
            # What MuJoCo does when rendered from a thread without its GL context: black, no error.
            agent = np.zeros((self.height, self.width, 3), dtype=np.uint8)
            wrist = np.zeros((self.height, self.width, 3), dtype=np.uint8)
        else:
            scene = self._render_scene()
            agent = scene[::-1]  # OpenGL convention: rows bottom to top
            if AGENT_VIEW_CONTIGUOUS:
                agent = np.ascontiguousarray(agent)  # the render's own buffer, as robosuite returns it
            wrist = np.ascontiguousarray(self._render_wrist()[::-1])
        return {
            "agentview_image": agent,
            "robot0_eye_in_hand_image": wrist,
            "robot0_eef_pos": self.state[0:3].copy(),
            "robot0_eef_quat": np.array([0.0, 0.0, 0.0, 1.0]),
            "robot0_gripper_qpos": np.array([0.04, -0.04]) * (1.0 if self.state[6] <= 0 else 0.1),
            "target_pos": self.state[3:6].copy(),
        }

    def _render_scene(self):
        """The agent view as the camera sees it (left and right differ: red top-left, green top-right)."""
        h, w = self.height, self.width
        img = np.full((h, w, 3), 40, dtype=np.uint8)
        b = max(4, h // 8)
        img[:b, :b] = (255, 0, 0)
        img[:b, w - b:] = (0, 255, 0)
        img[h - b:, :b] = (0, 0, 255)
        col = int(round(w / 2 + 400 * self.state[0] * w / 256))
        row = int(round(h / 2 - 400 * self.state[1] * h / 256))
        r0, c0 = max(0, row - 6), max(0, col - 6)
        img[r0:max(0, row + 6), c0:max(0, col + 6)] = (255, 255, 255)
        if self.state[6] > 0:
            img[h - 6:, w // 4: 3 * w // 4] = (255, 255, 0)
        return img

    def _render_wrist(self):
        g = 200 if self.state[6] > 0 else 60
        return np.full((self.height, self.width, 3), (g, g // 2, 10), dtype=np.uint8)
