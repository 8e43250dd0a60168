"""The draw-a-digit web app: ``create_app`` builds it, ``run_server`` serves it (``digitlab serve``)."""

from digitlab.web.answers import LoadedModel
from digitlab.web.app import create_app
from digitlab.web.models import from_checkpoint, knn_model, load_models_dir
from digitlab.web.server import run_server

__all__ = ["LoadedModel", "create_app", "knn_model", "from_checkpoint", "load_models_dir", "run_server"]
