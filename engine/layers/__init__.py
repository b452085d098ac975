"""Every layer type, registered by its Keras class name (``engine.layers.Dense`` ...).

Importing this package imports each family module, which registers its types in
:data:`engine.layers.base.LAYER_TYPES`.
"""

from engine.layers.activation_layers import GELU, PReLU, ReLU
from engine.layers.advanced_activations import ELU, LeakyReLU, Softmax
from engine.layers.attention import MultiHeadAttention
from engine.layers.base import (
    LAYER_TYPES,
    Input,
    InputLayer,
    KerasTensor,
    Layer,
    ShapeError,
    WeightSpec,
    get_layer_class,
    register,
)
from engine.layers.convolutional import Conv2D
from engine.layers.convolutional_1d import Conv1D
from engine.layers.convolutional_transpose import Conv2DTranspose
from engine.layers.core import Activation, Dense
from engine.layers.depthwise import DepthwiseConv2D, SeparableConv2D
from engine.layers.dot import Dot
from engine.layers.embedding import Embedding
from engine.layers.group_normalization import GroupNormalization
from engine.layers.merging import (
    Add,
    Average,
    Concatenate,
    Maximum,
    Minimum,
    Multiply,
    Subtract,
)
from engine.layers.noise import GaussianDropout, GaussianNoise
from engine.layers.normalization import BatchNormalization, LayerNormalization
from engine.layers.pooling import (
    AveragePooling2D,
    GlobalAveragePooling2D,
    GlobalMaxPooling2D,
    MaxPooling2D,
)
from engine.layers.pooling_1d import (
    AveragePooling1D,
    GlobalAveragePooling1D,
    GlobalMaxPooling1D,
    MaxPooling1D,
)
from engine.layers.recurrent import GRU, LSTM, SimpleRNN
from engine.layers.regularization import (
    ActivityRegularization,
    Dropout,
    SpatialDropout1D,
    SpatialDropout2D,
)
from engine.layers.resampling import Cropping2D, UpSampling2D, ZeroPadding2D
from engine.layers.reshaping import Flatten, Permute, RepeatVector, Reshape
from engine.layers.schema import Param, ParameterError
from engine.layers.wrappers import Bidirectional, TimeDistributed

__all__ = [
    "LAYER_TYPES",
    "Activation",
    "Dense",
    "Input",
    "InputLayer",
    "KerasTensor",
    "Layer",
    "Param",
    "ParameterError",
    "ShapeError",
    "WeightSpec",
    "get_layer_class",
    "register",
    "Add",
    "BatchNormalization",
    "Concatenate",
    "Dropout",
    "Embedding",
    "Flatten",
    "LayerNormalization",
    "Multiply",
    "Reshape",
    "Subtract",
]
__all__ += ["ELU", "LeakyReLU", "Softmax"]
__all__ += ["GELU", "PReLU", "ReLU"]
__all__ += ["Average", "Dot", "Maximum", "Minimum"]
__all__ += ["GroupNormalization"]
__all__ += ["ActivityRegularization", "GaussianDropout", "GaussianNoise"]
__all__ += ["SpatialDropout1D", "SpatialDropout2D"]
__all__ += ["Conv2D", "MaxPooling2D", "AveragePooling2D", "GlobalAveragePooling2D"]
__all__ += ["GlobalMaxPooling2D"]
__all__ += ["GRU", "LSTM", "SimpleRNN"]
__all__ += ["Cropping2D", "Permute", "RepeatVector", "UpSampling2D", "ZeroPadding2D"]
__all__ += ["Conv1D", "Conv2DTranspose", "DepthwiseConv2D", "SeparableConv2D"]
__all__ += ["AveragePooling1D", "GlobalAveragePooling1D", "GlobalMaxPooling1D", "MaxPooling1D"]
__all__ += ["Bidirectional", "TimeDistributed"]
__all__ += ["MultiHeadAttention"]
