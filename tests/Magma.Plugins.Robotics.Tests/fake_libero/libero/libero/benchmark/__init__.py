"""Fake of libero.libero.benchmark: suites, tasks and init states."""
from collections import namedtuple

import numpy as np

# Same fields as LIBERO's Task namedtuple.
Task = namedtuple("Task", ["name", "language", "problem", "problem_folder", "bddl_file", "init_states_file"])

N_INIT_STATES = 5
STATE_SIZE = 8  # x, y, z, goal_x, goal_y, goal_z, gripper, fault_step

_SUITES = {
    "libero_spatial": [
        "pick up the black bowl between the plate and the ramekin and place it on the plate",
        "pick up the black bowl next to the ramekin and place it on the plate",
        "pick up the black bowl from table center and place it on the plate",
    ],
    "libero_object": [
        "pick up the alphabet soup and place it in the basket",
        "pick up the cream cheese and place it in the basket",
        "pick up the salad dressing and place it in the basket",
    ],
    "libero_goal": [
        "open the middle drawer of the cabinet",
        "put the bowl on the stove",
        "put the wine bottle on top of the cabinet",
    ],
    "libero_10": [
        "put both the alphabet soup and the tomato sauce in the basket",
        "turn on the stove and put the moka pot on it",
    ],
    "libero_90": [
        "close the top drawer of the cabinet",
        "put the black bowl on the plate",
    ],
}


def _task_name(language):
    return language.replace(" ", "_").upper()


class Benchmark:
    name = None

    def __init__(self, task_order_index=0):
        self.task_order_index = task_order_index
        self.tasks = [
            Task(
                name=_task_name(lang),
                language=lang,
                problem="Libero",
                problem_folder=self.name,
                bddl_file=_task_name(lang) + ".bddl",
                init_states_file=_task_name(lang) + ".pruned_init",
            )
            for lang in _SUITES[self.name]
        ]
        self.n_tasks = len(self.tasks)

    def get_num_tasks(self):
        return self.n_tasks

    def get_task_names(self):
        return [t.name for t in self.tasks]

    def get_task(self, i):
        return self.tasks[i]

    def get_task_init_states(self, i):
        if not 0 <= i < self.n_tasks:
            raise IndexError(f"task id {i} out of range for {self.name} ({self.n_tasks} tasks)")
        states = np.zeros((N_INIT_STATES, STATE_SIZE), dtype=np.float64)
        for k in range(N_INIT_STATES):
            states[k, 3] = 0.05 * (3 + k)
        if self.name == "libero_goal" and i == 2:
            states[1, 7] = 3  # fault injected on step 3
        return states


class LIBERO_SPATIAL(Benchmark):
    name = "libero_spatial"


class LIBERO_OBJECT(Benchmark):
    name = "libero_object"


class LIBERO_GOAL(Benchmark):
    name = "libero_goal"


class LIBERO_10(Benchmark):
    name = "libero_10"


class LIBERO_90(Benchmark):
    name = "libero_90"


class LIBERO_100(Benchmark):
    """LIBERO-100 = LIBERO-90 + LIBERO-10: their tasks, in their own bddl folders."""
    name = "libero_100"

    def __init__(self, task_order_index=0):
        self.task_order_index = task_order_index
        self.tasks = LIBERO_90(task_order_index).tasks + LIBERO_10(task_order_index).tasks
        self.n_tasks = len(self.tasks)


def get_benchmark_dict():
    return {c.name: c for c in (LIBERO_SPATIAL, LIBERO_OBJECT, LIBERO_GOAL, LIBERO_10, LIBERO_90, LIBERO_100)}


def find_task(bddl_file_name):
    """Fake-only: the suite, task id and task of a bddl path (the real env parses the file instead)."""
    for cls in get_benchmark_dict().values():
        suite = cls()
        for i, task in enumerate(suite.tasks):
            if bddl_file_name.endswith(task.problem_folder + "/" + task.bddl_file):
                return suite, i, task
    return None
