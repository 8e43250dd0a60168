"""Students' notebooks for the grading tests and the benchmark: right, unusual-but-right, mistaken, forging, hostile.

Each notebook is the companion notebook's student edition with its code assignments filled in (and, for
some, cells added under an assignment or check cells edited). ``HOSTILE`` probes the sandbox from inside
a student's cell and reports what it reached on the checker's channel as a ``probe`` event, which the
grader ignores and the tests read.
"""

from __future__ import annotations

import copy
import uuid

from digitlab.notebooks.editions import CHECK, assignment_of, fill, read_notebook, student_edition, tags_of

RIGHT = {
    "simple-network": '''
def __init__(self):
    super().__init__()
    self.fc1 = nn.Linear(784, 10)
    self.fn_activate = nn.Sigmoid()

def forward(self, x):
    return self.fn_activate(self.fc1(x))
''',
    "training-loop": '''
model.train()
losses = []
for batch in torch.randperm(len(inputs)).split(batch_size):
    optimizer.zero_grad()
    loss = loss_fn(model(inputs[batch]), labels[batch])
    loss.backward()
    optimizer.step()
    losses.append(loss.item())
return sum(losses) / len(losses)
''',
    "complex-network": '''
def __init__(self):
    super().__init__()
    self.fc1 = nn.Linear(784, 512)
    self.fc2 = nn.Linear(512, 512)
    self.fc3 = nn.Linear(512, 10)

def forward(self, x):
    return self.fc3(torch.sigmoid(self.fc2(torch.sigmoid(self.fc1(x)))))
''',
    "knn": '''
knn = KNNClassifier(n_neighbors=3)
knn.fit(flatten_images(mnist.train.images), mnist.train.labels)
y_pred = knn.predict(flatten_images(mnist.test.images))
''',
    "untrained-accuracy": "Ongeveer 10%: tien klassen, en het netwerk weet nog niets.",
}

# Right, written the way the course does not prescribe: scikit-learn's default k under another name, a ReLU
# network from nn.Sequential, model.zero_grad() and a while loop, SimpleNetwork in a new cell (UNDER_SIMPLE).
UNUSUAL = {
    "training-loop": '''
order, start = torch.randperm(len(inputs)), 0
total = 0.0
while start < len(order):
    batch = order[start:start + batch_size]
    model.zero_grad()
    loss = loss_fn(model(inputs[batch]), labels[batch])
    loss.backward()
    optimizer.step()
    total += loss.item() * len(batch)
    start += batch_size
return total / len(order)
''',
    "complex-network": '''
def __init__(self):
    super().__init__()
    self.layers = nn.Sequential(nn.Linear(28 * 28, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU(), nn.Linear(512, 10))

def forward(self, x):
    return self.layers(x)
''',
    "knn": '''
from sklearn.neighbors import KNeighborsClassifier as Buren
clf = Buren()
clf.fit(mnist.train.images.reshape(len(mnist.train), -1).numpy(), mnist.train.labels.numpy())
y_pred = clf.predict(mnist.test.images.reshape(len(mnist.test), -1).numpy())
''',
    "untrained-accuracy": "Ongeveer 10%, want het netwerk heeft nog niets geleerd.",
}
UNDER_SIMPLE = '''class SimpleNetwork(nn.Module):
    def __init__(self):
        super().__init__()
        self.layer = nn.Linear(784, 10)

    def forward(self, x):
        return self.layer(x)
'''

# The common mistakes, one per assignment (a loop that never ends among them); missing zero_grad is in FORGERY
MISTAKES = {
    "simple-network": '''
def __init__(self):
    super().__init__()
    self.fc1 = nn.Linear(784, 9)

def forward(self, x):
    return torch.sigmoid(self.fc1(x))
''',
    "training-loop": '''
start = 0
while start < len(inputs):  # start never grows: the loop never ends
    batch = slice(start, start + batch_size)
    optimizer.zero_grad()
    loss_fn(model(inputs[batch]), labels[batch]).backward()
    optimizer.step()
return 0.0
''',
    "complex-network": '''
def __init__(self):
    super().__init__()
    self.fc1 = nn.Linear(784, 512)
    self.fc2 = nn.Linear(512, 512)
    self.fc3 = nn.Linear(512, 10)

def forward(self, x):
    x = torch.sigmoid(self.fc2(torch.sigmoid(self.fc1(x))))
    return torch.softmax(self.fc3(x), dim=1)
''',
    "knn": '''
knn = KNNClassifier(n_neighbors=3)
knn.fit(mnist.train.images.numpy(), mnist.train.labels.numpy())
y_pred = knn.predict(mnist.test.images.numpy())
''',
}
# The course's experiments: a loop over settings into a results table (digitlab.course runs each setting)
RIGHT_RUNS = {
    "opdracht-1-runs": '''
for n_epochs, batch in [(1, 128), (2, 128), (1, 512)]:
    resultaten_1.append(train_and_score(SimpleNetwork(), epochs=n_epochs, batch_size=batch))
''',
    "opdracht-2b-runs": '''
for hidden in ([16], [64, 64]):
    resultaten_2b.append(train_and_score(build("mlp", hidden_sizes=hidden), epochs=1, batch_size=256))
''',
    "opdracht-3b-runs": '''
for k in (1, 3):
    for metric in ("euclidean", "cosine"):
        resultaten_3b.append(knn_and_score(k=k, metric=metric, train_size=1_000))
resultaten_3b.append(knn_and_score(k=3, on="test", train_size=1_000))
''',
    "fashion-runs": '''
resultaten_fashion += [train_and_score(build("mlp", hidden_sizes=[32]), epochs=1, batch_size=256, data=fashion),
                       knn_and_score(k=3, data=fashion, train_size=1_000)]
''',
}
RIGHT.update(RIGHT_RUNS)
# Unusual but right: dicts with percentages, the student's own networks, a dict of runs
UNUSUAL_RUNS = {
    "opdracht-1-runs": '''
for n_epochs, batch in [(1, 256), (2, 256), (1, 64)]:
    acc, sec = train_and_score(SimpleNetwork(), epochs=n_epochs, batch_size=batch)
    resultaten_1.append({"epochs": n_epochs, "batch_size": batch, "accuracy": 100 * acc, "seconds": sec})
''',
    "opdracht-2b-runs": '''
for width in (8, 32):
    resultaten_2b.append(train_and_score(nn.Sequential(nn.Linear(784, width), nn.ReLU(), nn.Linear(width, 10)), epochs=1, batch_size=128))
''',
    "opdracht-3b-runs": '''
resultaten_3b = {(k, m): knn_and_score(k=k, metric=m, weights="distance", train_size=800) for k in (2, 4) for m in ("euclidean", "manhattan")}
''',
    "fashion-runs": RIGHT_RUNS["fashion-runs"],
}
MISTAKES_RUNS = {
    "opdracht-1-runs": '''
from digitlab.course import build
resultaten_1 = [train_and_score(build("simple"), epochs=n, batch_size=512) for n in (1, 2)]  # one batch size only
''',
    "opdracht-2b-runs": '''
resultaten_2b = [train_and_score(build("mlp", hidden_sizes=[32]), epochs=n, batch_size=256) for n in (1, 2)]  # one network only
''',
    "opdracht-3b-runs": '''
resultaten_3b = [knn_and_score(k=k, metric=m, on="test", train_size=1_000) for k in (1, 3) for m in ("euclidean", "cosine")]
''',
    "fashion-runs": '''
resultaten_fashion = [knn_and_score(k=3, train_size=1_000), train_and_score(build("mlp", hidden_sizes=[32]), epochs=1, batch_size=256)]
''',
}
# Typed-in tables, and run records forged to claim what their settings never gave
FORGERY_RUNS = {
    "opdracht-1-runs": '''
resultaten_1 = [{"epochs": 5, "batch_size": 64, "accuracy": 0.93}, {"epochs": 1, "batch_size": 512, "accuracy": 0.9}]
''',
    "opdracht-2b-runs": '''
import dataclasses
real = [train_and_score(build("mlp", hidden_sizes=[h]), epochs=1, batch_size=256) for h in (16, 32)]
resultaten_2b = [dataclasses.replace(run, accuracy=0.99) for run in real]
''',
    "opdracht-3b-runs": '''
resultaten_3b = [{"k": k, "metric": m, "on": "validatie", "accuracy": 0.97, "model": "k-NN", "train_size": 1_000}
                 for k in (1, 3) for m in ("euclidean", "cosine")]
''',
    "fashion-runs": '''
resultaten_fashion = [{"model": "MLP", "dataset": "fashion-mnist", "accuracy": 0.95},
                      {"model": "k-NN", "dataset": "fashion-mnist", "accuracy": 0.9}]
''',
}

# Wrong work dressed up to pass: swallowed errors, shadowed builtins and helpers, fake ticks, patched
# torch and numpy, a fake result file, a forged event on the channel, check cells deleted.
FORGERY_SETUP = '''
import builtins, sys, json, os
sys.excepthook = lambda *args: None
get_ipython().set_custom_exc((BaseException,), lambda *args, **kwargs: None)
builtins.len = lambda obj: 10_000
builtins.isinstance = lambda obj, kind: True
torch.Tensor.argmax = lambda self, dim=None, keepdim=False: torch.as_tensor(mnist.test.labels)
numpy.asarray = lambda *args, **kwargs: numpy.zeros(1000, dtype=int)
import digitlab.evaluation
digitlab.evaluation.accuracy = accuracy = lambda *args, **kwargs: 1.0
open("results.json", "w").write(json.dumps({"simple-network": "passed", "knn": "passed"}))
print("✓ SimpleNetwork: 7850 parameters, tien scores per plaatje")
fd = int(sys.argv[-1])
os.write(fd, (json.dumps({"event": "data", "assignment": "knn", "data": {"predictions": [1] * 1000}}) + "\\n").encode())
'''
NO_ZERO_GRAD = '''
for start in range(0, len(inputs), batch_size):
    loss = loss_fn(model(inputs[start:start + batch_size]), labels[start:start + batch_size])
    loss.backward()
    optimizer.step()
return loss.item()
'''
FORGERY = {
    "simple-network": '''
def __init__(self):
    super().__init__()
    self.fc1 = nn.Linear(784, 10)

def forward(self, x):
    return torch.zeros(x.shape[0], 10, requires_grad=True) + 0 * self.fc1(x)
''',
    "training-loop": 'print("✓ train_epoch traint: 99.0% goed")\n' + NO_ZERO_GRAD,
    "knn": "y_pred = [3] * 1000\nraise RuntimeError('hidden by the exception handlers')",
}

# Every escape the issue names, tried from a student's cell; the outcome of each goes out as a probe event.
HOSTILE = '''
import json, os, socket, subprocess, sys, importlib, _socket, urllib.request
found = {}
def _fail():
    raise AssertionError("nothing found")
def _ok(code):
    if code != 0:
        raise OSError(code)
    return code
def attempt(name, action):
    try:
        found[name] = repr(action())[:200]
    except BaseException as error:
        found[name] = "blocked: " + type(error).__name__
attempt("read_other", lambda: open(OTHER_NOTEBOOK).read()[:20])
attempt("other_jobs", lambda: [name for name in os.listdir("/checker") if name not in ("job.json", "inputs.npz")] or _fail())
attempt("read_secret", lambda: open(SECRET_FILE).read())
attempt("environment", lambda: [k for k in os.environ if "SECRET" in k] or _fail())
attempt("proc_1_environ", lambda: open("/proc/1/environ", "rb").read()[:50])
attempt("home", lambda: os.listdir("/root") or _fail())
attempt("write_outside", lambda: open(OUTSIDE_FILE, "w").write("escaped"))
attempt("patch_package", lambda: open(digitlab.__file__, "a").write("\\n# patched\\n"))
attempt("socket", lambda: socket.create_connection(("127.0.0.1", HOST_PORT), timeout=2))
attempt("raw_socket", lambda: _socket.socket(_socket.AF_INET, _socket.SOCK_STREAM).connect(("127.0.0.1", HOST_PORT)))
attempt("reloaded_socket", lambda: importlib.reload(socket).create_connection(("127.0.0.1", HOST_PORT), timeout=2))
attempt("urllib", lambda: urllib.request.urlopen("http://example.com", timeout=2).status)
attempt("udp", lambda: socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"x", ("8.8.8.8", 53)))
attempt("curl", lambda: _ok(subprocess.run(["curl", "-s", "-m", "2", "http://example.com"], capture_output=True).returncode))
attempt("system", lambda: _ok(os.system("curl -s -m 2 http://1.1.1.1 >/dev/null 2>&1")))
attempt("memory", lambda: len(bytearray(MEMORY_BYTES)))
attempt("fill_tmp", lambda: [open(f"/tmp/fill{i}", "wb").write(bytes(60 * 2**20)) for i in range(12)] and _fail())
for name in os.listdir("/tmp"):
    if name.startswith("fill"):
        os.remove(os.path.join("/tmp", name))
subprocess.Popen(["setsid", "sh", "-c", "sleep 4; echo late > " + CSV_FILE + "; sleep 60"], start_new_session=True)
attempt("processes", lambda: [subprocess.Popen(["sleep", "30"]) for _ in range(400)] and _fail())
def is_pipe(fd):
    try:
        return os.readlink(f"/proc/self/fd/{fd}").startswith("pipe:")
    except OSError:  # the descriptor listdir itself used
        return False
channel = int(sys.argv[-1])
if channel == 1:  # a container's channel: its standard output, which the checker moved to the lowest free descriptor
    channel = min(int(fd) for fd in os.listdir("/proc/self/fd") if int(fd) > 2 and is_pipe(fd))
os.write(channel, (json.dumps({"event": "probe", "found": found}) + "\\n").encode())
'''


def code_cell(source: str) -> dict:
    return {"cell_type": "code", "id": uuid.uuid4().hex[:8], "source": source, "metadata": {}, "outputs": [], "execution_count": None}


def edition() -> dict:
    return student_edition(read_notebook())


def add_under(notebook: dict, assignment: str, source: str, first: bool = False) -> dict:
    """A copy with a new code cell right under ``assignment``'s student cell (above it with ``first``)."""
    notebook = copy.deepcopy(notebook)
    cells = notebook["cells"]
    at = next(i for i, cell in enumerate(cells) if "student" in tags_of(cell) and assignment_of(cell) == assignment)
    cells.insert(at if first else at + 1, code_cell(source))
    return notebook


def without_checks(notebook: dict) -> dict:
    notebook = copy.deepcopy(notebook)
    notebook["cells"] = [cell for cell in notebook["cells"] if CHECK not in tags_of(cell)]
    return notebook


def right() -> dict:
    return fill(edition(), RIGHT)


def unusual() -> dict:
    return add_under(fill(edition(), {**UNUSUAL, **UNUSUAL_RUNS}), "simple-network", UNDER_SIMPLE)


def mistakes() -> dict:
    return fill(edition(), {**MISTAKES, **MISTAKES_RUNS})


def wrong() -> dict:
    """A common mistake per assignment, the loop one being a missing zero_grad (it ends)."""
    return fill(edition(), {**MISTAKES, "training-loop": NO_ZERO_GRAD})


def endless() -> dict:
    """Right, except a training loop that never ends."""
    return fill(edition(), {**{k: v for k, v in RIGHT.items() if k not in RIGHT_RUNS}, "training-loop": MISTAKES["training-loop"]})


def forgery() -> dict:
    forged = fill(edition(), {**FORGERY, **FORGERY_RUNS})
    return without_checks(add_under(forged, "simple-network", FORGERY_SETUP, first=False))


def hostile(values: dict[str, object], only_knn: bool = False) -> dict:
    """The unusual-but-right notebook with a cell under its k-NN that tries every escape; ``values`` fill in paths and ports.

    ``only_knn``: the k-NN assignment alone answered (a short notebook: the escapes without the networks' training).
    """
    header = "".join(f"{name} = {value!r}\n" for name, value in values.items())
    notebook = fill(edition(), {"knn": UNUSUAL["knn"]}) if only_knn else unusual()
    return add_under(notebook, "knn", header + HOSTILE, first=False)
