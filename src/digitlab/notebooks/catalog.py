"""Every sentence the grader shows a student or teacher, per language: verdicts, hints, summaries, the feedback page.

Keys are what :class:`digitlab.notebooks.checks.Verdict` names; ``{name}`` placeholders take its params.
Numbers are formatted here per language (a Dutch decimal comma), so a check passes plain floats.
"""

from __future__ import annotations

from typing import Any

LANGUAGES = ("nl", "en")
DEFAULT_LANGUAGE = "nl"  # the course's language

NL = {
    # statuses
    "passed": "goed",
    "failed": "fout",
    "not answered": "niet ingevuld",
    "answered": "beantwoord (lees de docent)",
    # what a check saw
    "placeholder": "De opdracht is nog niet ingevuld: de cel roept nog NotImplementedError aan.",
    "open": "De opdracht is nog niet ingevuld.",
    "no-check": "Voor deze opdracht is geen controle.",
    "bad-data": "De controle kreeg onbruikbare gegevens uit je notebook terug.",
    "timeout": "Je code liep langer dan {seconds} s en is gestopt.",
    "crashed": "Je code liet het controleproces stoppen (een crash, of te veel geheugen: de grens is {memory}).",
    "not-run": "Niet gecontroleerd: de tijd voor dit notebook was op.",
    "cell-error": "Je cel gaf een fout: {error}",
    "net.missing": "{name} is niet gedefinieerd na je cel.",
    "net.build-error": "{name}() maken gaf een fout: {error}",
    "net.count": "{name} heeft {count} parameters; verwacht {expected}.",
    "net.forward-error": "{name} op een batch plaatjes (N, 784) gaf een fout: {error}",
    "net.outputs-nan": "{name} geeft geen getallen terug (NaN of leeg).",
    "net.outputs": "{name} geeft {columns} scores per plaatje; verwacht 10.",
    "net.softmax": "De outputs van {name} tellen per plaatje op tot 1: er zit een softmax aan het eind.",
    "net.sigmoid": "De outputs van {name} liggen allemaal tussen 0 en 1: er zit een sigmoid aan het eind.",
    "net.unused": "Deze parameters doen niet mee in forward: {unused}.",
    "net.learns-not": "Na één epoch met de trainingslus van de controle haalt {name} {accuracy:%} goed; verwacht minstens {floor:%}.",
    "net.passed": "{name}: {count} parameters, tien scores per plaatje, {accuracy:%} goed na één epoch.",
    "loop.error": "train_epoch gaf een fout: {error}",
    "loop.no-step": "train_epoch zette geen enkele optimizer-stap.",
    "loop.stale": "De gradiënten van de vorige batch waren er nog bij de volgende stap.",
    "loop.steps": "train_epoch zette {steps} stappen; bij deze batchgrootte horen er {batches} (één per batch).",
    "loop.learns-not": "Na één epoch met jouw lus haalt het netwerk {accuracy:%} goed; verwacht minstens {floor:%}.",
    "loop.loss": "train_epoch geeft geen getal terug ({accuracy:%} goed na één epoch).",
    "loop.passed": "train_epoch traint: {accuracy:%} goed na één epoch, gemiddelde loss {loss:.3f}.",
    "knn.error": "Je k-NN gaf een fout: {error}",
    "knn.length": "y_pred heeft {count} voorspellingen; verwacht er één per testplaatje ({expected}).",
    "knn.differs": "Op {sample} testplaatjes geeft k-NN (best passend: k={k}, {weights}, {metric}) maar in {agreement:%} hetzelfde antwoord.",
    "knn.accuracy": "Je k-NN (k={k}, {weights}, {metric}) haalt {accuracy:%} goed; verwacht minstens {floor:%}.",
    "knn.passed": "k-NN met k={k} ({weights}, {metric}): {accuracy:%} goed.",
    # hints: what to change
    "hint.where": "Zet je oplossing in de cel van de opdracht of in een nieuwe cel direct eronder, en gebruik de naam uit de opdracht.",
    "hint.read-error": "Lees de foutmelding: welke regel van je cel geeft hem?",
    "hint.endless": "Je lus stopt niet: wordt je teller opgehoogd?",
    "hint.memory": "Maak minder of kleinere tensors tegelijk (bijvoorbeeld per batch in plaats van alles in één keer).",
    "hint.net.nine-outputs": "Je laatste laag heeft 9 uitgangen; er zijn tien cijfers (0 tot en met 9), dus 10 uitgangen.",
    "hint.net.ten-outputs": "De laatste laag moet 10 uitgangen hebben: één score per klasse.",
    "hint.net.count": "Tel de gewichten (inputs x outputs) en biases (één per output) van elke laag.",
    "hint.net.flat": "Vergeet je de plaatjes plat te slaan? Het netwerk krijgt rijen van 784 pixels.",
    "hint.net.logits": "Geef de ruwe scores (logits) terug: CrossEntropyLoss doet zelf de softmax.",
    "hint.net.unused": "Laat x door alle lagen gaan in forward.",
    "hint.net.learns-not": "Kijk of forward alle lagen gebruikt en tien ruwe scores per plaatje teruggeeft.",
    "hint.loop.no-step": "Roep per batch optimizer.step() aan na loss.backward().",
    "hint.loop.zero-grad": "Vergeet je optimizer.zero_grad()? Zet de gradiënten per batch op nul vóór loss.backward().",
    "hint.loop.steps": "Doe per batch precies één optimizer-stap, en loop over alle plaatjes.",
    "hint.loop.learns-not": "Doet je lus per batch zero_grad, forward, loss, backward en step, in die volgorde?",
    "hint.loop.loss": "Geef de gemiddelde loss terug met return, als getal (loss.item()).",
    "hint.knn.flat": "Vergeet je de plaatjes plat te slaan? k-NN wil rijen van 784 pixels (flatten_images).",
    "hint.knn.length": "Voorspel alle testplaatjes (mnist.test.images), niet de trainplaatjes.",
    "hint.knn.differs": "Fit op de trainplaatjes met hun labels en voorspel de testplaatjes.",
    "hint.knn.accuracy": "Probeer een andere k of afstand.",
    # summaries and the feedback page
    "summary": "{passed} goed, {failed} fout, {open} niet ingevuld, {answered} antwoorden voor de docent ({seconds:.1f} s)",
    "unsandboxed": "ZONDER SANDBOX nagekeken",
    "page.title": "Feedback: {notebook}",
    "page.intro": "Per opdracht: wat de controle zag en wat je kunt veranderen. Geschreven antwoorden leest je docent.",
    "page.assignment": "Opdracht",
    "page.status": "Uitslag",
    "page.saw": "Wat de controle zag",
    "page.hint": "Tip",
    "page.answers": "Je geschreven antwoorden",
    "page.problem": "Probleem met het notebook",
    "unreadable": "Het notebook kon niet gelezen worden: {problem}",
}

EN = {
    "passed": "passed",
    "failed": "failed",
    "not answered": "not answered",
    "answered": "answered (for the teacher to read)",
    "placeholder": "Not answered yet: the cell still raises NotImplementedError.",
    "open": "Not answered yet.",
    "no-check": "This assignment has no check.",
    "bad-data": "The check got unusable data back from your notebook.",
    "timeout": "Your code ran longer than {seconds} s and was stopped.",
    "crashed": "Your code stopped the checking process (a crash, or too much memory: the limit is {memory}).",
    "not-run": "Not checked: the notebook's time ran out.",
    "cell-error": "Your cell raised an error: {error}",
    "net.missing": "{name} is not defined after your cell.",
    "net.build-error": "Making {name}() raised an error: {error}",
    "net.count": "{name} has {count} parameters; expected {expected}.",
    "net.forward-error": "{name} on a batch of images (N, 784) raised an error: {error}",
    "net.outputs-nan": "{name} returns no numbers (NaN or empty).",
    "net.outputs": "{name} gives {columns} scores per image; expected 10.",
    "net.softmax": "The outputs of {name} add up to 1 per image: there is a softmax at the end.",
    "net.sigmoid": "The outputs of {name} all lie between 0 and 1: there is a sigmoid at the end.",
    "net.unused": "These parameters take no part in forward: {unused}.",
    "net.learns-not": "After one epoch of the check's training loop {name} gets {accuracy:%} right; expected at least {floor:%}.",
    "net.passed": "{name}: {count} parameters, ten scores per image, {accuracy:%} right after one epoch.",
    "loop.error": "train_epoch raised an error: {error}",
    "loop.no-step": "train_epoch took no optimizer step at all.",
    "loop.stale": "The previous batch's gradients were still there at the next step.",
    "loop.steps": "train_epoch took {steps} steps; this batch size means {batches} (one per batch).",
    "loop.learns-not": "After one epoch of your loop the network gets {accuracy:%} right; expected at least {floor:%}.",
    "loop.loss": "train_epoch returns no number ({accuracy:%} right after one epoch).",
    "loop.passed": "train_epoch trains: {accuracy:%} right after one epoch, mean loss {loss:.3f}.",
    "knn.error": "Your k-NN raised an error: {error}",
    "knn.length": "y_pred has {count} predictions; expected one per test image ({expected}).",
    "knn.differs": "On {sample} test images k-NN (best match: k={k}, {weights}, {metric}) gives the same answer only {agreement:%} of the time.",
    "knn.accuracy": "Your k-NN (k={k}, {weights}, {metric}) gets {accuracy:%} right; expected at least {floor:%}.",
    "knn.passed": "k-NN with k={k} ({weights}, {metric}): {accuracy:%} right.",
    "hint.where": "Put your solution in the assignment's cell or in a new cell right below it, under the name the assignment uses.",
    "hint.read-error": "Read the error: which line of your cell raises it?",
    "hint.endless": "Your loop never stops: is your counter increased?",
    "hint.memory": "Make fewer or smaller tensors at once (per batch instead of all at once, for example).",
    "hint.net.nine-outputs": "Your last layer has 9 outputs; there are ten digits (0 to 9), so 10 outputs.",
    "hint.net.ten-outputs": "The last layer needs 10 outputs: one score per class.",
    "hint.net.count": "Count each layer's weights (inputs x outputs) and biases (one per output).",
    "hint.net.flat": "Did you forget to flatten the images? The network gets rows of 784 pixels.",
    "hint.net.logits": "Return the raw scores (logits): CrossEntropyLoss applies the softmax itself.",
    "hint.net.unused": "Let x pass through every layer in forward.",
    "hint.net.learns-not": "Check that forward uses every layer and returns ten raw scores per image.",
    "hint.loop.no-step": "Call optimizer.step() once per batch, after loss.backward().",
    "hint.loop.zero-grad": "Did you forget optimizer.zero_grad()? Clear the gradients per batch before loss.backward().",
    "hint.loop.steps": "Take exactly one optimizer step per batch, and cover all images.",
    "hint.loop.learns-not": "Does your loop do zero_grad, forward, loss, backward and step per batch, in that order?",
    "hint.loop.loss": "Return the mean loss as a number (loss.item()).",
    "hint.knn.flat": "Did you forget to flatten the images? k-NN wants rows of 784 pixels (flatten_images).",
    "hint.knn.length": "Predict every test image (mnist.test.images), not the training images.",
    "hint.knn.differs": "Fit on the training images with their labels and predict the test images.",
    "hint.knn.accuracy": "Try another k or distance.",
    "summary": "{passed} passed, {failed} failed, {open} not answered, {answered} written answers to read ({seconds:.1f} s)",
    "unsandboxed": "GRADED WITHOUT A SANDBOX",
    "page.title": "Feedback: {notebook}",
    "page.intro": "Per assignment: what the check saw and what you can change. Your teacher reads the written answers.",
    "page.assignment": "Assignment",
    "page.status": "Result",
    "page.saw": "What the check saw",
    "page.hint": "Hint",
    "page.answers": "Your written answers",
    "page.problem": "Problem with the notebook",
    "unreadable": "The notebook could not be read: {problem}",
}

CATALOGS = {"nl": NL, "en": EN}


class _Number(float):
    """A float whose ``%`` and ``.Nf`` formats follow the language (a decimal comma in Dutch)."""

    comma = False

    def __format__(self, spec: str) -> str:
        text = float.__format__(self, spec.replace("%", ".1%") if spec == "%" else spec)
        return text.replace(".", ",") if self.comma else text


def say(key: str, language: str = DEFAULT_LANGUAGE, **params: Any) -> str:
    """The sentence ``key`` in ``language`` with ``params`` filled in; an unknown key is shown as itself."""
    catalog = CATALOGS.get(language, CATALOGS[DEFAULT_LANGUAGE])
    template = catalog.get(key, CATALOGS[DEFAULT_LANGUAGE].get(key, key))
    comma = language == "nl"
    values = {name: _comma_float(value, comma) if isinstance(value, float) else value for name, value in params.items()}
    try:
        return template.format(**values)
    except (KeyError, ValueError, IndexError):
        return template


def _comma_float(value: float, comma: bool) -> float:
    number = _Number(value)
    number.comma = comma
    return number


def language_of(notebook: dict) -> str:
    """The notebook's language (its metadata ``digitlab.language``), Dutch when it names none we have."""
    language = notebook.get("metadata", {}).get("digitlab", {}).get("language", DEFAULT_LANGUAGE)
    return language if language in CATALOGS else DEFAULT_LANGUAGE
