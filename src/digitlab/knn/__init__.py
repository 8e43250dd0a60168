"""k-nearest neighbours done properly: exact like scikit-learn, faster, and tunable (the notebook's Part III).

>>> from digitlab import load
>>> from digitlab.knn import KNNClassifier, flatten_images
>>> mnist = load("mnist")                                                       # doctest: +SKIP
>>> knn = KNNClassifier(3, weights="distance").fit(flatten_images(mnist.train.images), mnist.train.labels)  # doctest: +SKIP
>>> knn.score(flatten_images(mnist.test.images), mnist.test.labels)             # doctest: +SKIP
0.9717
"""

from digitlab.knn.choice import set_kernel
from digitlab.knn.classifier import KNNClassifier, flatten_images, vote
from digitlab.knn.copies import TrainingCopies
from digitlab.knn.distortion import DistortionRerank
from digitlab.knn.pipeline import KNNPipelineConfig, build_pipeline
from digitlab.knn.search import NeighborIndex
from digitlab.knn.transforms import PCA, Blur, Deskew, deskew_images

__all__ = ["PCA", "Blur", "Deskew", "DistortionRerank", "KNNClassifier", "KNNPipelineConfig", "NeighborIndex", "TrainingCopies",
           "build_pipeline",
           "deskew_images", "flatten_images", "set_kernel", "vote"]
