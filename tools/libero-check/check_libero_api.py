#!/usr/bin/env python3
"""Makes, against a LIBERO install, exactly the LIBERO calls that Magma.Plugins.Robotics makes.

The plugin's only LIBERO code is plugins/Magma.Plugins.Robotics/Libero/LiberoBridge.py; docs/robotics.md lists its
calls ("LIBERO API calls the plugin makes"). This script repeats them in the same order with the same arguments and
prints what came back (types, shapes, dtypes, action bounds), then steps the dummy action, so a real LIBERO install
can be checked against the assumptions the plugin and its CI fake (tests/Magma.Plugins.Robotics.Tests/fake_libero)
make, with one command:

    MUJOCO_GL=egl python tools/libero-check/check_libero_api.py [--suite libero_goal] [--task 0] [--trial 0] [--steps 10]

Exit status 0 when every check holds, 1 when one fails (each failure is printed as "FAIL: ..."). Standard library and
numpy only; it never imports anything from this repository.
"""
import argparse
import math
import os
import sys

import numpy as np

DUMMY_ACTION = [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, -1.0]
IMAGE_KEYS = ("agentview_image", "robot0_eye_in_hand_image")
VECTOR_KEYS = {"robot0_eef_pos": 3, "robot0_eef_quat": 4, "robot0_gripper_qpos": 2}
failures = []


def check(ok, message):
    if not ok:
        failures.append(message)
        print(f"FAIL: {message}")
    return ok


def describe(obs, label, resolution):
    """The observation keys the plugin reads, as the plugin's bridge validates them."""
    print(f"{label}: keys {', '.join(sorted(obs))}")
    for key in IMAGE_KEYS:
        if key not in obs:
            check(key != "agentview_image", f"{label}: obs has no {key!r}")
            print(f"  {key}: absent")
            continue
        a = obs[key]
        print(f"  {key}: {type(a).__name__} {a.dtype} {a.shape} contiguous={a.flags['C_CONTIGUOUS']} "
              f"min={int(a.min())} max={int(a.max())} mean={float(a.mean()):.1f}")
        check(isinstance(a, np.ndarray) and a.dtype == np.uint8, f"{label}: {key} is not a uint8 ndarray")
        check(a.shape == (resolution, resolution, 3), f"{label}: {key} has shape {a.shape}, expected ({resolution}, {resolution}, 3)")
        # MuJoCo rendering from a thread without its GL context gives black frames without an error.
        check(int(a.max()) > 0, f"{label}: {key} is all black (rendering back-end? MUJOCO_GL={os.environ.get('MUJOCO_GL')})")
    for key, size in VECTOR_KEYS.items():
        v = obs.get(key)
        if v is None:
            print(f"  {key}: absent (the plugin then reports an empty vector)")
            continue
        v = np.asarray(v)
        print(f"  {key}: {v.dtype} {v.shape} {np.round(v.astype(np.float64), 4).tolist()}")
        check(v.size == size and np.issubdtype(v.dtype, np.floating), f"{label}: {key} is {v.dtype} {v.shape}, expected {size} floats")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", default="libero_goal")
    parser.add_argument("--task", type=int, default=0)
    parser.add_argument("--trial", type=int, default=0, help="stored init state index")
    parser.add_argument("--steps", type=int, default=10, help="dummy-action steps (the reference waits 10)")
    parser.add_argument("--resolution", type=int, default=256)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    # 1. Catalogue: LiberoBridge.suites / tasks / _task_info.
    from libero.libero import benchmark, get_libero_path
    print(f"libero.libero.benchmark: {getattr(benchmark, '__file__', '?')}")
    suites = benchmark.get_benchmark_dict()
    print(f"get_benchmark_dict(): {', '.join(str(k) for k in suites.keys())}")
    if not check(args.suite in suites, f"suite {args.suite!r} not in get_benchmark_dict()"):
        return 1
    suite = suites[args.suite]()
    print(f"{args.suite}: n_tasks={suite.n_tasks}")
    if not check(0 <= args.task < suite.n_tasks, f"task {args.task} not in 0..{suite.n_tasks - 1}"):
        return 1
    task = suite.get_task(args.task)
    init_states = suite.get_task_init_states(args.task)
    print(f"get_task({args.task}): name={task.name!r} language={task.language!r} "
          f"problem_folder={task.problem_folder!r} bddl_file={task.bddl_file!r}")
    print(f"get_task_init_states({args.task}): {type(init_states).__name__} len={len(init_states)} "
          f"shape={getattr(init_states, 'shape', '?')} dtype={getattr(init_states, 'dtype', '?')}")
    bddl = os.path.join(get_libero_path("bddl_files"), task.problem_folder, task.bddl_file)
    print(f"bddl file: {bddl} exists={os.path.isfile(bddl)}")
    check(os.path.isfile(bddl), f"bddl file {bddl} does not exist")
    if not check(0 <= args.trial < len(init_states), f"trial {args.trial} not in 0..{len(init_states) - 1}"):
        return 1

    # 2. Environment: LiberoBridge.open_env.
    from libero.libero.envs import OffScreenRenderEnv
    env = OffScreenRenderEnv(**{"bddl_file_name": bddl, "camera_heights": args.resolution, "camera_widths": args.resolution})
    print(f"OffScreenRenderEnv(bddl_file_name=..., camera_heights={args.resolution}, camera_widths={args.resolution}): {type(env).__name__}")
    env.seed(args.seed)
    print(f"env.seed({args.seed})")
    try:
        # Diagnostic only (the plugin does not read it): robosuite's bounds, which the plugin assumes are [-1, 1].
        inner = getattr(env, "env", None)
        spec = getattr(inner, "action_spec", None)
        if spec is None:
            print("action_spec: unavailable (env.env.action_spec missing)")
        else:
            low, high = (np.asarray(b, dtype=np.float64) for b in spec)
            print(f"env.env.action_spec: low={low.tolist()} high={high.tolist()}")
            check(low.shape == (7,) and high.shape == (7,), f"action_spec has {low.shape}/{high.shape} bounds, expected 7")
            check(np.allclose(low, -1) and np.allclose(high, 1), "action bounds are not [-1, 1] (LiberoActionSpace.Default)")

        # 3. Episode start: LiberoBridge.reset.
        env.reset()
        obs = env.set_init_state(init_states[args.trial])
        describe(obs, f"set_init_state(init_states[{args.trial}])", args.resolution)

        # 4. Steps: LiberoBridge.step sends a plain list of 7 floats and unpacks 4 values.
        for k in range(args.steps):
            obs, reward, done, info = env.step(list(DUMMY_ACTION))
            agent = obs["agentview_image"]
            print(f"step {k + 1}: reward={float(reward)} done={bool(done)} info={type(info).__name__} "
                  f"agentview {agent.dtype} {agent.shape} mean={float(agent.mean()):.1f}")
            check(math.isfinite(float(reward)), f"step {k + 1}: reward {reward!r} is not a finite number")
        describe(obs, f"after {args.steps} steps", args.resolution)

        # 5. LiberoBridge.check_success.
        print(f"env.check_success(): {bool(env.check_success())}")
    finally:
        # 6. LiberoBridge.close.
        env.close()
        print("env.close()")

    print("OK" if not failures else f"{len(failures)} check(s) failed")
    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main())
