"""The examples of ch01.numpy, one function per topic of the chapter, in the chapter's order.

Each function receives the lesson's `Session` and speaks to it like a prompt: `s.run(code)`
executes statements, `s.show(expr)` prints an expression's value, `s.check(expr)` is an
assert the lesson counts, `s.raises(code, Error)` is code that must fail. The code strings are
exactly what a learner would type; the session prints them as it runs them.
"""


def intro(s):
    s.section("NumPy 数组计算库入门", "the ndarray")
    s.note("an ndarray is one block of memory plus a shape, a dtype and strides (bytes per step)")
    s.run("a = np.array([[1, 2, 3], [4, 5, 6]])")
    s.show("a")
    s.show("a.shape, a.ndim, a.size, a.dtype")
    s.show("a.strides")
    s.check("a.shape == (2, 3) and a.ndim == 2 and a.size == 6")
    s.check("a.strides == (3 * a.itemsize, a.itemsize)")
    s.check("a.nbytes == a.size * a.itemsize")


def copy_and_view(s):
    s.section("复制 copy 和视图 view", "copies and views")
    s.note("a slice is a view: new shape and strides over the same memory, so writes show through")
    s.run("a = np.arange(6)")
    s.run("v = a[1:4]")
    s.run("v[0] = 100")
    s.show("a")
    s.check("a[1] == 100 and np.shares_memory(a, v) and v.base is a")
    s.note("copy() gives an array that owns new memory")
    s.run("c = a[1:4].copy()")
    s.run("c[0] = -1")
    s.check("a[1] == 100 and c.base is None and not np.shares_memory(a, c)")
    s.note("reshape of a contiguous array and .T are views; integer-array indexing always copies")
    s.check("np.shares_memory(a, a.reshape(2, 3)) and np.shares_memory(a, a.reshape(2, 3).T)")
    s.check("not np.shares_memory(a, a[[1, 2, 3]])")
    s.check("np.shares_memory(a, a.ravel()) and not np.shares_memory(a, a.flatten())")


def create_from_sequences(s):
    s.section("数组创建：使用 Python 序列", "creation from Python sequences")
    s.show("np.array([1, 2, 3])")
    s.show("np.array([[1.5, 2], [3, 4]])")
    s.note("one dtype for all elements: mixing ints and floats gives floats")
    s.check("np.array([1, 2.5]).dtype == np.float64")
    s.check("np.array([1, 2], dtype=np.float32).dtype == np.float32")
    s.check("np.array((1, 2, 3)).tolist() == [1, 2, 3]")
    s.note("rows of different lengths do not make a 2-D array")
    s.raises("np.array([[1, 2], [3]])", ValueError)


def create_with_functions(s):
    s.section("数组创建：使用 NumPy 内置创建函数", "creation functions")
    s.show("np.zeros((2, 3))")
    s.show("np.full((2, 2), 7)")
    s.show("np.eye(3, dtype=int)")
    s.show("np.arange(0, 10, 3)")
    s.show("np.linspace(0, 1, 5)")
    s.check("np.arange(0, 10, 3).tolist() == [0, 3, 6, 9]")
    s.check("np.linspace(0, 1, 5)[-1] == 1.0 and len(np.linspace(0, 1, 5)) == 5")
    s.check("np.ones((2, 3)).sum() == 6 and np.zeros_like(np.eye(2)).shape == (2, 2)")
    s.check("(np.diag([1, 2]) == [[1, 0], [0, 2]]).all()")


def create_from_existing(s):
    s.section("数组创建：复制、连接、改变现有数组", "copying, joining, changing arrays")
    s.run("a = np.array([[1, 2], [3, 4]])\nb = np.array([[5, 6]])")
    s.show("np.concatenate([a, b])")
    s.show("np.concatenate([a, b.T], axis=1)")
    s.check("np.vstack([a, b]).shape == (3, 2) and np.hstack([a, a]).shape == (2, 4)")
    s.note("stack adds a new axis; concatenate joins along an existing one")
    s.check("np.stack([a, a]).shape == (2, 2, 2)")
    s.show("np.tile([1, 2], 3)")
    s.show("np.repeat([1, 2], 3)")
    s.check("np.tile([1, 2], 3).tolist() == [1, 2, 1, 2, 1, 2]")
    s.check("np.repeat([1, 2], 3).tolist() == [1, 1, 1, 2, 2, 2]")
    s.check("np.copy(a) is not a and (np.copy(a) == a).all()")


def create_from_disk(s):
    s.section("数组创建：从磁盘读取", "reading from files")
    s.note("a CSV file, here held in memory (io.StringIO behaves like an open file)")
    s.run('csv = io.StringIO("x,y\\n1,2.5\\n3,4.5\\n5,6.5\\n")')
    s.run('table = np.loadtxt(csv, delimiter=",", skiprows=1)')
    s.show("table")
    s.check("table.shape == (3, 2) and table[:, 1].sum() == 13.5")
    s.note("np.save / np.load keep dtype and shape exactly (the .npy format)")
    s.run("buffer = io.BytesIO()\nnp.save(buffer, np.arange(6, dtype=np.int16).reshape(2, 3))\n"
          "_ = buffer.seek(0)")
    s.run("loaded = np.load(buffer)")
    s.check("loaded.dtype == np.int16 and loaded.shape == (2, 3) and loaded[1, 2] == 5")


def indexing_overview(s):
    s.section("数组索引：indexing 整体介绍", "indexing overview")
    s.note("x[obj]: integers, slices, ... and np.newaxis are *basic* indexing and give views;")
    s.note("integer arrays and boolean arrays are *advanced* indexing and give copies;")
    s.note("a string picks a field of a structured array")
    s.run("arr = np.array([[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12], [13, 14, 15, 16]])")
    s.check("np.shares_memory(arr, arr[1:3, ::2])")
    s.check("not np.shares_memory(arr, arr[[1, 2]]) and not np.shares_memory(arr, arr[arr > 8])")


def range_and_slice(s):
    s.section("数组索引：复习 range 和 slice 对象", "range and slice objects")
    s.show("list(range(1, 10, 3))")
    s.note("start:stop:step inside brackets builds a slice object")
    s.run("odd = slice(1, None, 2)")
    s.show("odd.indices(8)")
    s.check("(np.arange(8)[odd] == np.arange(8)[1::2]).all()")
    s.check("np.arange(8)[::-1].tolist() == list(range(7, -1, -1))")
    s.check("np.arange(8)[-3:].tolist() == [5, 6, 7]")


def single_element(s):
    s.section("基础索引：单个元素作为下标", "single elements")
    s.show("arr[1, 2]")
    s.check("arr[1, 2] == 7 and arr[1][2] == 7")
    s.check("arr[-1, -1] == 16 and arr[0, -1] == 4")
    s.note("one integer per axis gives a scalar; fewer integers give a sub-array")
    s.check("arr[1].shape == (4,) and np.ndim(arr[1, 2]) == 0")
    s.raises("arr[4, 0]", IndexError)


def slices(s):
    s.section("基础索引：使用 slice 对象", "slices (the seed's four asserts)")
    s.show("arr[1, 2:4]")
    s.check("(arr[1, 2:4] == [7, 8]).all()")
    s.show("arr[:, 1]")
    s.check("(arr[:, 1] == [2, 6, 10, 14]).all()")
    s.show("arr[2:, 2:]")
    s.check("(arr[2:, 2:] == [[11, 12], [15, 16]]).all()")
    s.show("arr[1::2, ::2]")
    s.check("(arr[1::2, ::2] == [[5, 7], [13, 15]]).all()")
    s.note("a slice keeps its axis, an integer removes it")
    s.check("arr[1:2, :].shape == (1, 4) and arr[1, :].shape == (4,)")


def ellipsis_and_newaxis(s):
    s.section("基础索引：维度索引工具 ... 和 newaxis", "... and np.newaxis")
    s.run("x = np.arange(24).reshape(2, 3, 4)")
    s.show("x[..., 0].shape")
    s.check("x[..., 0].shape == (2, 3) and (x[..., 0] == x[:, :, 0]).all()")
    s.check("x[0, ...].shape == (3, 4)")
    s.note("np.newaxis (which is None) inserts an axis of length 1")
    s.check("np.newaxis is None and x[:, np.newaxis].shape == (2, 1, 3, 4)")
    s.run("v = np.array([1, 2, 3])")
    s.show("v[:, None] * v[None, :]")
    s.check("(v[:, None] * v[None, :] == np.outer(v, v)).all()")


def integer_arrays(s):
    s.section("高级索引：使用整形数组", "integer arrays")
    s.show("arr[[0, 2]]")
    s.check("(arr[[0, 2]] == arr[0::2]).all()")
    s.note("arrays on several axes are paired up element by element")
    s.show("arr[[0, 1, 2], [1, 2, 3]]")
    s.check("arr[[0, 1, 2], [1, 2, 3]].tolist() == [2, 7, 12]")
    s.note("the result has the shape of the index arrays")
    s.run("rows = np.array([[0, 0], [3, 3]])\ncols = np.array([[0, 3], [0, 3]])")
    s.show("arr[rows, cols]")
    s.check("(arr[rows, cols] == [[1, 4], [13, 16]]).all()")
    s.check("arr[[-1, 0], 0].tolist() == [13, 1]")


def boolean_arrays(s):
    s.section("高级索引：使用布尔数组", "boolean arrays")
    s.run("mask = arr > 10")
    s.show("arr[mask]")
    s.check("arr[mask].tolist() == [11, 12, 13, 14, 15, 16] and mask.sum() == 6")
    s.note("combine conditions with & | ~ (and brackets), not with `and` / `or`")
    s.check("arr[(arr > 4) & (arr < 9)].tolist() == [5, 6, 7, 8]")
    s.check("arr[arr % 2 == 0].sum() == 72")
    s.check("(arr[np.array([True, False, True, False])] == arr[[0, 2]]).all()")
    s.check("(arr[np.nonzero(mask)] == arr[mask]).all()")
    s.raises("(arr > 4) and (arr < 9)", ValueError)


def basic_and_advanced(s):
    s.section("高级索引：基础与高级结合", "basic and advanced together")
    s.show("arr[1:3, [0, 3]]")
    s.check("(arr[1:3, [0, 3]] == [[5, 8], [9, 12]]).all()")
    s.note("np.ix_ makes a cross product of rows and columns")
    s.check("(arr[np.ix_([0, 3], [0, 3])] == [[1, 4], [13, 16]]).all()")
    s.note("advanced indices next to each other keep their place; split by a slice, they go first")
    s.run("z = np.zeros((2, 3, 4, 5))")
    s.check("z[:, [0, 1], [0, 1], :].shape == (2, 2, 5)")
    s.check("z[[0, 1], :, [0, 1]].shape == (2, 3, 5)")


def fields(s):
    s.section("字段索引：使用字符串 x['field-name']", "fields of structured arrays")
    s.run('people = np.array([("Ann", 31, 55.0), ("Bo", 22, 71.5), ("Chen", 45, 68.2)],\n'
          '                  dtype=[("name", "U10"), ("age", "i4"), ("weight", "f4")])')
    s.show("people['age']")
    s.show("people[1]")
    s.check("people.dtype.names == ('name', 'age', 'weight')")
    s.check("people['age'].tolist() == [31, 22, 45] and people[1]['name'] == 'Bo'")
    s.check("people[people['age'] > 30]['name'].tolist() == ['Ann', 'Chen']")
    s.note("a field is a view: changing it changes the records")
    s.run("people['age'] += 1")
    s.check("people[0]['age'] == 32")
    s.check("people[['name', 'age']].dtype.names == ('name', 'age')")


def flat_iterator(s):
    s.section("迭代索引：x.flat 函数", "x.flat")
    s.note(".flat sees the array as one long row, in row-major (C) order")
    s.show("arr.flat[5]")
    s.check("arr.flat[5] == 6 and arr.flat[[0, 5, 10, 15]].tolist() == [1, 6, 11, 16]")
    s.check("list(arr[:2, :2].flat) == [1, 2, 5, 6]")
    s.check("np.unravel_index(5, arr.shape) == (1, 1)")
    s.check("np.ravel_multi_index((1, 1), arr.shape) == 5")
    s.run("b = np.zeros((2, 3), dtype=int)\nb.flat = [1, 2]")
    s.show("b")
    s.check("(b == [[1, 2, 1], [2, 1, 2]]).all()")


def variable_index(s):
    s.section("变量索引：使用变量", "indices held in variables")
    s.run("idx = (1, slice(None))")
    s.check("(arr[idx] == arr[1, :]).all()")
    s.note("a tuple is several axes, a list is an index array: arr[(1, 2)] is not arr[[1, 2]]")
    s.check("arr[(1, 2)] == 7 and arr[[1, 2]].shape == (2, 4)")
    s.note("choosing the axis at run time: build the tuple")
    s.run("axis = 1\nobj = [slice(None)] * arr.ndim\nobj[axis] = 0")
    s.check("(arr[tuple(obj)] == arr[:, 0]).all()")
    s.check("(np.take(arr, [0, 3], axis=axis) == arr[:, [0, 3]]).all()")


def index_assignment(s):
    s.section("索引数组赋值", "assigning through an index")
    s.run("a = np.zeros(6, dtype=int)\na[[0, 2]] = 1\na[3:5] = [7, 8]\na[a > 7] = -1")
    s.show("a")
    s.check("a.tolist() == [1, 0, 1, 7, -1, 0]")
    s.note("a repeated index is written once with +=; np.add.at adds every time")
    s.run("c = np.zeros(3, dtype=int)\nc[[0, 0, 1]] += 1")
    s.run("d = np.zeros(3, dtype=int)\nnp.add.at(d, [0, 0, 1], 1)")
    s.show("c, d")
    s.check("c.tolist() == [1, 1, 0] and d.tolist() == [2, 1, 0]")
    s.note("values are cast to the array's dtype: a float into an int array is truncated")
    s.run("ints = np.array([1, 2, 3])\nints[0] = 9.7")
    s.check("ints[0] == 9")


def arithmetic(s):
    s.section("数组的算术操作", "arithmetic")
    s.run("a = np.array([1, 2, 3])\nb = np.array([10, 20, 30])")
    s.show("a + b, a * b, b / a, b // 7, a ** 2")
    s.check("(a * b).tolist() == [10, 40, 90] and (b / a).dtype == np.float64")
    s.check("np.dot(a, b) == 140 and a @ b == 140")
    s.note("* multiplies elementwise; @ is the matrix product")
    s.run("M = np.array([[1, 2], [3, 4]])")
    s.show("M * M")
    s.show("M @ M")
    s.check("(M @ M == [[7, 10], [15, 22]]).all() and (M * M == [[1, 4], [9, 16]]).all()")
    s.note("fixed-size integers wrap around silently")
    s.check("(np.array([127], dtype=np.int8) + 1)[0] == -128")
    s.note("functions like exp, log, sqrt (ufuncs) work element by element")
    s.check("np.allclose(np.exp(np.log(b)), b)")
    s.check("np.sqrt(np.array([4.0, 9.0])).tolist() == [2.0, 3.0]")


def broadcasting(s):
    s.section("数组广播", "broadcasting")
    s.note("compare shapes from the right: sizes must match, or one of them be 1 (it is stretched)")
    s.show("np.array([[0], [10], [20]]) + np.array([1, 2, 3, 4])")
    s.check("(np.ones((3, 1)) + np.ones((1, 4))).shape == (3, 4)")
    s.check("(np.ones((4, 3)) + np.ones(3)).shape == (4, 3)")
    s.check("np.broadcast_shapes((8, 1, 6, 1), (7, 1, 5)) == (8, 7, 6, 5)")
    s.raises("np.ones((4, 3)) + np.ones(4)", ValueError)
    s.note("the usual fix: make the length-4 axis explicit")
    s.check("(np.ones((4, 3)) + np.ones(4)[:, None]).shape == (4, 3)")
    s.note("centring each column: subtract the (3,) column means from the (4, 3) table")
    s.run("X = np.arange(12.0).reshape(4, 3)\ncentred = X - X.mean(axis=0)")
    s.check("np.allclose(centred.mean(axis=0), 0)")


def statistics(s):
    s.section("数据统计", "statistics")
    s.run("data = np.array([[1, 5, 3], [4, 2, 6]])")
    s.show("data.sum(), data.sum(axis=0), data.sum(axis=1)")
    s.check("data.sum() == 21 and data.sum(axis=0).tolist() == [5, 7, 9]")
    s.check("data.sum(axis=1).tolist() == [9, 12]")
    s.check("data.mean(axis=1, keepdims=True).shape == (2, 1)")
    s.note("argmax counts in the flattened array; unravel_index turns it back into (row, column)")
    s.check("data.argmax() == 5 and np.unravel_index(data.argmax(), data.shape) == (1, 2)")
    s.check("np.var([1, 2, 3, 4]) == 1.25 and np.isclose(np.var([1, 2, 3, 4], ddof=1), 5 / 3)")
    s.check("np.median([3, 1, 2]) == 2 and np.percentile(np.arange(101), 90) == 90")
    s.check("np.cumsum([1, 2, 3]).tolist() == [1, 3, 6]")
    s.check("np.sort([3, 1, 2]).tolist() == [1, 2, 3]")
    s.note("argsort gives the positions that would sort the array")
    s.check("np.argsort([3, 1, 2]).tolist() == [1, 2, 0]")
    s.show("np.unique([2, 1, 2, 3, 1, 2], return_counts=True)")


def reshaping(s):
    s.section("修改数组形状", "changing shape")
    s.run("a = np.arange(12)")
    s.show("a.reshape(3, 4)")
    s.check("a.reshape(2, -1).shape == (2, 6) and a.reshape(3, 4).T.shape == (4, 3)")
    s.note("reshape reads and writes in row-major order")
    s.check("a.reshape(3, 4)[1].tolist() == [4, 5, 6, 7]")
    s.raises("a.reshape(5, -1)", ValueError)
    s.run("t = np.zeros((2, 3, 4))")
    s.check("t.transpose(2, 0, 1).shape == (4, 2, 3) and np.swapaxes(t, 0, 2).shape == (4, 3, 2)")
    s.check("np.expand_dims(a, 0).shape == (1, 12) and np.zeros((1, 3, 1)).squeeze().shape == (3,)")
    s.check("[part.tolist() for part in np.split(np.arange(6), 3)] == [[0, 1], [2, 3], [4, 5]]")


def random_numbers(s):
    s.section("生成随机数", "random numbers")
    s.note("a Generator with a seed: the same seed gives the same numbers (seed comes from --seed)")
    s.run("rng = np.random.default_rng(seed)")
    s.show("rng.integers(0, 10, size=5)")
    s.check("(np.random.default_rng(seed).random(3) == np.random.default_rng(seed).random(3)).all()")
    s.run("u = rng.random(100_000)")
    s.check("u.min() >= 0 and u.max() < 1")
    s.note("integers excludes its upper bound")
    s.check("set(rng.integers(0, 3, size=1000).tolist()) == {0, 1, 2}")
    s.run("g = rng.normal(10, 2, size=100_000)")
    s.show("g.mean(), g.std()")
    s.note("the sample mean is within 0.05 of 10 (its standard error is 2/√100000 ≈ 0.006)")
    s.check("abs(g.mean() - 10) < 0.05 and abs(g.std() - 2) < 0.05")
    s.run("p = rng.permutation(5)")
    s.check("sorted(p.tolist()) == [0, 1, 2, 3, 4]")
    s.check("rng.choice(['a', 'b', 'c'], size=4).shape == (4,)")


SECTIONS = [intro, copy_and_view, create_from_sequences, create_with_functions,
            create_from_existing, create_from_disk, indexing_overview, range_and_slice,
            single_element, slices, ellipsis_and_newaxis, integer_arrays, boolean_arrays,
            basic_and_advanced, fields, flat_iterator, variable_index, index_assignment,
            arithmetic, broadcasting, statistics, reshaping, random_numbers]
