"""The curriculum's names, as data: the 12 chapters of the guide and the 7-day track.

Titles follow the seed README (深度学习综合指南 and 深度学习 7 天速成). A track lists lesson ids in
the order the course teaches them; ids without a lesson module yet are simply skipped when the
track runs, so this table can stay complete while the lessons are being written.
"""
from dataclasses import dataclass


@dataclass(frozen=True)
class Chapter:
    id: str
    title_zh: str
    title_en: str


@dataclass(frozen=True)
class Track:
    id: str
    title_zh: str
    title_en: str
    lessons: tuple


CHAPTERS = {c.id: c for c in (
    Chapter("ch01", "认识机器学习：绘制直线", "Meeting machine learning: drawing a line"),
    Chapter("ch02", "深度学习原理", "How deep learning works"),
    Chapter("ch03", "分类问题：Keras 求解", "Classification with a Keras-style API"),
    Chapter("ch04", "详解反向传播算法", "Backpropagation in detail"),
    Chapter("ch05", "张量和自动微分", "Tensors and automatic differentiation"),
    Chapter("ch06", "训练神经网络", "Training neural networks"),
    Chapter("ch07", "卷积神经网络", "Convolutional neural networks"),
    Chapter("ch08", "循环神经网络", "Recurrent neural networks"),
    Chapter("ch09", "Transformer 架构", "The Transformer"),
    Chapter("ch10", "生成式模型", "Generative models"),
    Chapter("ch11", "扩散模型", "Diffusion models"),
    Chapter("ch12", "大语言模型", "Large language models"),
)}

TRACKS = {t.id: t for t in (
    Track("day1", "第 01 天：NumPy 介绍", "Day 1: NumPy", ("ch01.numpy",)),
    Track("day2", "第 02 天：线性回归", "Day 2: linear regression", ("ch01.line",)),
    Track("day3", "第 03 天：二分类", "Day 3: binary classification",
          ("ch02.principle", "ch03.binary")),
    Track("day4", "第 04 天：全连接神经网络", "Day 4: dense neural networks",
          ("ch04.derivatives", "ch04.dnn")),
    Track("day5", "第 05 天：卷积神经网络", "Day 5: convolutional networks",
          ("ch07.conv", "ch07.cnn")),
    Track("day6", "第 06 天：循环神经网络", "Day 6: recurrent networks", ("ch08.rnn",)),
    Track("day7", "第 07 天：注意力机制", "Day 7: attention", ("ch09.transformer",)),
)}
