"""The curriculum's names, as data: the 12 chapters of the guide, the 7-day track and the labs.

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

# The 15 labs of Hung-yi Lee's ML 2022 Spring (CURRICULUM.md), for the course site: a lab's
# lessons register under its id (e.g. "hw01.regression"); until then the site shows it as coming.
LABS = {lab.id: lab for lab in (
    Chapter("hw01", "回归：COVID-19 病例预测", "Regression: COVID-19 cases"),
    Chapter("hw02", "分类：逐帧音素识别", "Classification: frame-wise phonemes"),
    Chapter("hw03", "CNN：图像分类", "CNN: image classification"),
    Chapter("hw04", "自注意力：说话人识别", "Self-attention: speaker identification"),
    Chapter("hw05", "Transformer：机器翻译", "Transformer: machine translation"),
    Chapter("hw06", "GAN：图像生成", "GAN: image generation"),
    Chapter("hw07", "BERT：抽取式问答", "BERT: extractive question answering"),
    Chapter("hw08", "自编码器：异常检测", "Auto-encoders: anomaly detection"),
    Chapter("hw09", "可解释的 AI", "Explainable AI"),
    Chapter("hw10", "对抗攻击", "Adversarial attacks"),
    Chapter("hw11", "领域自适应", "Domain adaptation"),
    Chapter("hw12", "强化学习", "Reinforcement learning"),
    Chapter("hw13", "网络压缩", "Network compression"),
    Chapter("hw14", "终身学习", "Life-long learning"),
    Chapter("hw15", "元学习", "Meta learning"),
)}
