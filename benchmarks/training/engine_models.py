"""The engine's model for each workload, built with the public Keras-shaped API as a user
would (Sequential where the graph is a chain, the functional API where it branches)."""

from __future__ import annotations

from benchmarks.training.workloads import Workload


def engine_model(workload: Workload):
    import engine

    engine.set_random_seed(0)
    build = {
        "mlp": _mlp,
        "cnn": _cnn,
        "lstm": _lstm,
        "cifar": _cifar,
        "resnet": _resnet,
        "bigru": _bigru,
        "transformer": _transformer,
    }[workload.name]
    model, optimizer = build(engine, engine.layers, workload)
    model.compile(
        optimizer=optimizer,
        loss=engine.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    return model


def _adam(engine):
    return engine.optimizers.Adam(learning_rate=0.001)


def _mlp(engine, layers, w):
    model = engine.Sequential(
        [
            engine.Input(w.shape),
            layers.Dense(512, activation="relu"),
            layers.Dense(512, activation="relu"),
            layers.Dense(10),
        ]
    )
    return model, engine.optimizers.SGD(learning_rate=0.01, momentum=0.9)


def _cnn(engine, layers, w):
    model = engine.Sequential(
        [
            engine.Input(w.shape),
            layers.Conv2D(32, 3, padding="same", activation="relu"),
            layers.MaxPooling2D(2),
            layers.Conv2D(64, 3, padding="same", activation="relu"),
            layers.MaxPooling2D(2),
            layers.Flatten(),
            layers.Dense(128, activation="relu"),
            layers.Dense(10),
        ]
    )
    return model, _adam(engine)


def _lstm(engine, layers, w):
    model = engine.Sequential([engine.Input(w.shape), layers.LSTM(128), layers.Dense(10)])
    return model, _adam(engine)


def _cifar(engine, layers, w):
    stack = [engine.Input(w.shape)]
    for filters in (32, 64, 128):
        stack += [
            layers.Conv2D(filters, 3, padding="same"),
            layers.BatchNormalization(),
            layers.ReLU(),
            layers.MaxPooling2D(2),
        ]
    stack += [layers.Flatten(), layers.Dense(10)]
    return engine.Sequential(stack), _adam(engine)


def _resnet(engine, layers, w):
    def conv_bn(x, filters, strides=1, kernel=3):
        x = layers.Conv2D(filters, kernel, strides=strides, padding="same", use_bias=False)(x)
        return layers.BatchNormalization()(x)

    def block(x, filters, strides):
        y = layers.ReLU()(conv_bn(x, filters, strides))
        y = conv_bn(y, filters)
        shortcut = x if strides == 1 else conv_bn(x, filters, strides, kernel=1)
        return layers.ReLU()(layers.Add()([y, shortcut]))

    inputs = engine.Input(w.shape)
    x = layers.ReLU()(conv_bn(inputs, 16))
    for stage, filters in enumerate((16, 32, 64)):
        x = block(x, filters, 1 if stage == 0 else 2)
        x = block(x, filters, 1)
    outputs = layers.Dense(10)(layers.GlobalAveragePooling2D()(x))
    model = engine.Model(inputs, outputs)
    return model, engine.optimizers.SGD(learning_rate=0.05, momentum=0.9)


def _bigru(engine, layers, w):
    model = engine.Sequential(
        [
            engine.Input(w.shape, dtype="int64"),
            layers.Embedding(w.tokens, 128),
            layers.Bidirectional(layer="GRU", units=64, return_sequences=True),
            layers.Bidirectional(layer="GRU", units=64),
            layers.Dense(w.classes),
        ]
    )
    return model, _adam(engine)


def _transformer(engine, layers, w):
    d_model = w.shape[-1]
    inputs = engine.Input(w.shape)
    x = inputs
    for _ in range(4):
        attention = layers.MultiHeadAttention(num_heads=4, key_dim=d_model // 4)([x, x])
        x = layers.LayerNormalization(epsilon=1e-5)(layers.Add()([x, attention]))
        ffn = layers.Dense(2 * d_model)(x)
        ffn = layers.Dense(d_model)(layers.ReLU()(ffn))
        x = layers.LayerNormalization(epsilon=1e-5)(layers.Add()([x, ffn]))
    outputs = layers.Dense(10)(layers.GlobalAveragePooling1D()(x))
    return engine.Model(inputs, outputs), _adam(engine)
