"""k-nearest neighbours done properly: exact like scikit-learn, faster, and tunable (the notebook's Part III).

>>> from digitlab import load
>>> from digitlab.knn import fit_knn, flatten_images
>>> mnist = load("mnist")                                                       # doctest: +SKIP
>>> knn = fit_knn(mnist.train.images, mnist.train.labels)  # k=3, distance votes  # doctest: +SKIP
>>> knn.score(flatten_images(mnist.test.images), mnist.test.labels)             # doctest: +SKIP
0.9717
"""

from digitlab.knn.choice import set_kernel
from digitlab.knn.classifier import KNNClassifier, flatten_images, vote
from digitlab.knn.copies import TrainingCopies
from digitlab.knn.distortion import DistortionRerank
from digitlab.knn.pipeline import QUICK_TRAIN_LIMIT, KNNPipelineConfig, build_pipeline, fit_knn
from digitlab.knn.search import NeighborIndex
from digitlab.knn.transforms import PCA, Blur, Deskew, deskew_images

__all__ = ["PCA", "QUICK_TRAIN_LIMIT", "Blur", "Deskew", "DistortionRerank", "KNNClassifier", "KNNPipelineConfig", "NeighborIndex",
           "TrainingCopies", "build_pipeline", "fit_knn",
           "deskew_images", "flatten_images", "set_kernel", "vote"]
