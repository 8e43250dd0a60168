"""The companion notebook's student edition, filled in, passes its checks; filled in wrongly, fails them.

Graded the way `digitlab check` grades a student (a real kernel, the notebook's quick mode, the demo
cells skipped), once with reference solutions written here, independently of the notebook's own, and
once with wrong ones (the teacher's edition, the notebook's own solutions, is run in full by
tests/test_notebook.py). Each run loads MNIST and trains two small networks for one epoch: slow-ish.
"""

from __future__ import annotations

import pytest

from digitlab.notebooks.editions import fill, read_notebook, student_edition, write_notebook
from digitlab.notebooks.grading import ANSWERED, FAILED, NOT_ANSWERED, PASSED, Limits, grade

pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")
pytestmark = [pytest.mark.realdata, pytest.mark.slow]

LIMITS = Limits(cell_s=300, total_s=600)
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
}
CODE = ("simple-network", "training-loop", "complex-network", "knn")


def _graded(tmp_path, answers):
    notebook = fill(student_edition(read_notebook()), answers)
    return {outcome.assignment: outcome for outcome in grade(write_notebook(notebook, tmp_path / "student.ipynb"), limits=LIMITS).outcomes}


def test_the_reference_solutions_pass_every_check(tmp_path):
    outcomes = _graded(tmp_path, RIGHT)
    assert {name: outcomes[name].status for name in CODE} == dict.fromkeys(CODE, PASSED), {n: outcomes[n].detail for n in CODE}
    assert outcomes["untrained-accuracy"].status == ANSWERED and outcomes["opdracht-1"].status == NOT_ANSWERED


def test_wrong_solutions_fail_the_checks_with_a_message_that_helps(tmp_path):
    outcomes = _graded(tmp_path, WRONG)
    assert {name: outcomes[name].status for name in CODE} == dict.fromkeys(CODE, FAILED)
    assert "7850" in outcomes["simple-network"].detail
    assert "verwacht minstens" in outcomes["training-loop"].detail
    assert "fc2" in outcomes["complex-network"].detail
    assert "scikit-learn" in outcomes["knn"].detail

