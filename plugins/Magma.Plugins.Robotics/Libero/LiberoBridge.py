# Python side of Magma.Plugins.Robotics: the only place that calls LIBERO. Compiled once per interpreter from the
# assembly's embedded copy of this file. Every LIBERO call the plugin makes is in this file.
import math
import os

import numpy as np


def _benchmark():
    from libero.libero import benchmark, get_libero_path
    return benchmark, get_libero_path


def _suite(suite_name):
    benchmark, _ = _benchmark()
    suites = benchmark.get_benchmark_dict()
    if suite_name not in suites:
        raise KeyError(f"unknown LIBERO task suite {suite_name!r}; available: {', '.join(sorted(suites))}")
    return suites[suite_name]()


def _task_info(suite, suite_name, task_id):
    _, get_libero_path = _benchmark()
    if not 0 <= task_id < suite.n_tasks:
        raise IndexError(f"task {task_id} is not in {suite_name} (it has {suite.n_tasks} tasks, 0..{suite.n_tasks - 1})")
    task = suite.get_task(task_id)
    init_states = suite.get_task_init_states(task_id)
    bddl = os.path.join(get_libero_path("bddl_files"), task.problem_folder, task.bddl_file)
    return task, init_states, (str(task.name), str(task.language), bddl, int(len(init_states)))


def suites():
    benchmark, _ = _benchmark()
    return [str(name) for name in benchmark.get_benchmark_dict().keys()]


def tasks(suite_name):
    suite = _suite(suite_name)
    return [_task_info(suite, suite_name, i)[2] for i in range(suite.n_tasks)]


def open_env(suite_name, task_id, resolution, seed):
    from libero.libero.envs import OffScreenRenderEnv
    suite = _suite(suite_name)
    _, init_states, info = _task_info(suite, suite_name, task_id)
    env_args = {"bddl_file_name": info[2], "camera_heights": resolution, "camera_widths": resolution}
    env = OffScreenRenderEnv(**env_args)
    env.seed(seed)
    return env, init_states, info


def _image(obs, key):
    if key not in obs:
        raise KeyError(f"observation has no {key!r}; keys: {', '.join(sorted(obs))}")
    a = obs[key]
    if not isinstance(a, np.ndarray) or a.dtype != np.uint8 or a.ndim != 3 or a.shape[2] != 3:
        raise ValueError(f"obs[{key!r}] must be a uint8 (H, W, 3) array, got {type(a).__name__} "
                         f"{getattr(a, 'dtype', '?')} {getattr(a, 'shape', '?')}")
    # A strided view (e.g. a flipped render) is made contiguous here, once; .NET reads the flat 1-D view through
    # the buffer protocol (pythonnet's PyBuffer reads 1-D buffers only) and gets the shape alongside.
    return np.ascontiguousarray(a).reshape(-1), int(a.shape[0]), int(a.shape[1])


def _vector(obs, key):
    v = obs.get(key)
    # float64 values as their raw bytes (a flat uint8 view), read in one copy on the .NET side.
    v = np.zeros(0) if v is None else np.ascontiguousarray(v, dtype=np.float64).reshape(-1)
    return v.view(np.uint8)


def parts(obs, wrist):
    return (
        _image(obs, "agentview_image"),
        _image(obs, "robot0_eye_in_hand_image") if wrist and "robot0_eye_in_hand_image" in obs else None,
        _vector(obs, "robot0_eef_pos"),
        _vector(obs, "robot0_eef_quat"),
        _vector(obs, "robot0_gripper_qpos"),
    )


def reset(env, init_states, index, wrist):
    env.reset()
    obs = env.set_init_state(init_states[index])
    return parts(obs, wrist)


def step(env, action, wrist):
    # The reference sends a plain list of 7 floats (action.tolist()).
    obs, reward, done, info = env.step(action)
    return parts(obs, wrist), float(reward), bool(done)


def check_success(env):
    return bool(env.check_success())


def close(env):
    env.close()
