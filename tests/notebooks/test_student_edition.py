"""The companion notebook's student edition, filled in, passes its checks; filled in wrongly, fails them.

Graded the way `digitlab check` grades a student (a real kernel, the notebook's quick mode), once with
reference solutions written here, independently of the notebook's own, with every cell run (the demo
cells too, so the cells that use a student's work run with it), and once with typical mistakes, the demo
cells skipped (tests/test_notebook.py runs the untouched student edition from top to bottom). Each run
loads MNIST and Fashion-MNIST and trains small networks for an epoch or two: slow-ish.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from digitlab.notebooks.editions import fill, read_notebook, student_edition, write_notebook
from digitlab.notebooks.grading import ANSWERED, FAILED, NOT_ANSWERED, PASSED, Limits, grade

pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")
pytestmark = [pytest.mark.realdata, pytest.mark.slow]

LIMITS = Limits(cell_s=300, total_s=900)
RIGHT = {
    "simple-network": '''
def __init__(self):
    super().__init__()
    self.layers = nn.Sequential(nn.Linear(28 * 28, 10), nn.Sigmoid())

def forward(self, x):
    return self.layers(x)
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
    self.hidden = nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 512), nn.ReLU())
    self.out = nn.Linear(512, 10)

def forward(self, x):
    return self.out(self.hidden(x))
''',
    "knn": '''
from sklearn.neighbors import KNeighborsClassifier as Neighbours
knn = Neighbours(n_neighbors=5).fit(mnist.train.images.reshape(len(mnist.train), -1).numpy(), mnist.train.labels.numpy())
y_pred = knn.predict(mnist.test.images.reshape(len(mnist.test), -1).numpy())
''',
    "untrained-accuracy": "Ongeveer 10%: tien klassen, en het netwerk weet nog niets.",
    # the experiments, written the way a student might: dicts with percentages, own networks, a dict of runs
    "opdracht-1-runs": '''
for n_epochs, batch in [(1, 128), (2, 128), (1, 512)]:
    acc, sec = train_and_score(SimpleNetwork(), epochs=n_epochs, batch_size=batch)
    resultaten_1.append({"epochs": n_epochs, "batch_size": batch, "accuracy": 100 * acc, "seconds": sec})
''',
    "opdracht-2b-runs": '''
for width in (16, 64):
    net = nn.Sequential(nn.Linear(784, width), nn.ReLU(), nn.Linear(width, 10))
    resultaten_2b.append(train_and_score(net, epochs=1, batch_size=256))
''',
    "opdracht-3b-runs": '''
resultaten_3b = {(k, m): knn_and_score(k=k, metric=m, train_size=2_000) for k in (2, 4) for m in ("euclidean", "cosine")}
''',
    "fashion-runs": '''
small = nn.Sequential(nn.Linear(784, 32), nn.ReLU(), nn.Linear(32, 10))
resultaten_fashion += [train_and_score(small, epochs=1, batch_size=256, data=fashion), knn_and_score(k=3, data=fashion, train_size=2_000)]
''',
}
WRONG = {
    "simple-network": '''
def __init__(self):
    super().__init__()
    self.fc1 = nn.Linear(784, 9)

def forward(self, x):
    return torch.sigmoid(self.fc1(x))
''',
    "training-loop": '''
for start in range(0, len(inputs), batch_size):
    optimizer.zero_grad()
    loss = loss_fn(model(inputs[start:start + batch_size]), labels[start:start + batch_size])
    loss.backward()  # forgets optimizer.step(): nothing is learned
return loss.item()
''',
    "complex-network": '''
def __init__(self):
    super().__init__()
    self.fc1 = nn.Linear(784, 512)
    self.fc2 = nn.Linear(512, 512)
    self.fc3 = nn.Linear(512, 10)

def forward(self, x):
    return self.fc3(torch.sigmoid(self.fc1(x)))  # skips fc2
''',
    "knn": '''
knn = KNNClassifier(n_neighbors=3).fit(flatten_images(mnist.train.images), mnist.train.labels)
y_pred = knn.predict(flatten_images(mnist.train.images[:len(mnist.test)]))  # the wrong images
''',
    "opdracht-1-runs": '''
resultaten_1 = [{"epochs": 5, "batch_size": 64, "accuracy": 0.93}, {"epochs": 1, "batch_size": 512, "accuracy": 0.9}]  # typed in
''',
    "opdracht-2b-runs": '''
resultaten_2b = [train_and_score(build("mlp", hidden=[64]), epochs=n, batch_size=256) for n in (1, 2)]  # one network only
''',
    "opdracht-3b-runs": '''
resultaten_3b = [knn_and_score(k=k, metric=m, on="test", train_size=2_000) for k in (1, 3) for m in ("euclidean", "cosine")]
''',
    "fashion-runs": '''
resultaten_fashion = [knn_and_score(k=3, train_size=2_000), knn_and_score(k=5, train_size=2_000)]  # forgot data=fashion
''',
}
CODE = ("simple-network", "training-loop", "complex-network", "knn", "opdracht-1-runs", "opdracht-2b-runs", "opdracht-3b-runs",
        "fashion-runs")
HINTS = {"simple-network": "7850", "training-loop": "verwacht minstens", "complex-network": "fc2", "knn": "scikit-learn",
         "opdracht-1-runs": "geen enkele run", "opdracht-2b-runs": "neuronen", "opdracht-3b-runs": "validatieset",
         "fashion-runs": "fashion-mnist"}


def _graded(tmp_path, answers, limits):
    notebook = fill(student_edition(read_notebook()), answers)
    return {outcome.assignment: outcome for outcome in grade(write_notebook(notebook, tmp_path / "student.ipynb"), limits=limits).outcomes}


def test_the_reference_solutions_pass_every_check(tmp_path):
    outcomes = _graded(tmp_path, RIGHT, replace(LIMITS, all_cells=True))
    assert {name: outcomes[name].status for name in CODE} == dict.fromkeys(CODE, PASSED), {n: outcomes[n].detail for n in CODE}
    assert outcomes["untrained-accuracy"].status == ANSWERED and outcomes["opdracht-1"].status == NOT_ANSWERED


def test_wrong_solutions_fail_the_checks_with_a_message_that_helps(tmp_path):
    outcomes = _graded(tmp_path, WRONG, LIMITS)
    assert {name: outcomes[name].status for name in CODE} == dict.fromkeys(CODE, FAILED), {n: outcomes[n].detail for n in CODE}
    assert {name: HINTS[name] in outcomes[name].detail for name in CODE} == dict.fromkeys(CODE, True), {n: outcomes[n].detail for n in CODE}

