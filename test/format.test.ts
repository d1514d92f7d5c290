// Tensor printing (toString) against PyTorch's output with default print options: empty tensors,
// fixed/integer/scientific float modes, element widths, bools, 80-column wrapping, summarising.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../lib/torch.js';

const str = (t: torch.Tensor) => t.toString();
const f32 = (v: any) => torch.tensor(v, { dtype: 'float32' });

test('empty tensors: size unless (0,), dtype unless float32', () =>
  torch.scope(() => {
    assert.equal(str(torch.tensor([])), 'tensor([])');
    assert.equal(str(torch.zeros(0, { dtype: 'int64' })), 'tensor([], dtype=torch.int64)');
    assert.equal(str(torch.zeros(0, 3)), 'tensor([], size=(0, 3))');
    assert.equal(str(torch.zeros(2, 0, { dtype: 'float64' })), 'tensor([], size=(2, 0), dtype=torch.float64)');
    assert.equal(str(torch.zeros(0, { dtype: 'bool' })), 'tensor([], dtype=torch.bool)');
  }));

test('float modes: integer-valued, fixed, scientific', () =>
  torch.scope(() => {
    assert.equal(str(f32([1, 2, 3])), 'tensor([1., 2., 3.])');
    assert.equal(str(f32([1, 10000])), 'tensor([1.0000e+00, 1.0000e+04])'); // ratio > 1000
    assert.equal(str(f32([1, 1000])), 'tensor([   1., 1000.])');
    assert.equal(str(f32([1e8])), 'tensor([100000000.])');
    assert.equal(str(f32([2e8])), 'tensor([2.0000e+08])');
    assert.equal(str(f32([1e-5, 1])), 'tensor([1.0000e-05, 1.0000e+00])');
    assert.equal(str(f32([0.5, -2])), 'tensor([ 0.5000, -2.0000])');
    assert.equal(str(f32([0.001, 0.5])), 'tensor([0.0010, 0.5000])');
    assert.equal(str(f32([0.1, NaN, Infinity])), 'tensor([0.1000,    nan,    inf])');
    // widths come from the nonzero finite values only
    assert.equal(str(f32([Infinity, -Infinity, 1])), 'tensor([inf, -inf, 1.])');
    assert.equal(str(f32([0, 0])), 'tensor([0., 0.])');
    assert.equal(str(f32([-0, 1.5])), 'tensor([-0.0000, 1.5000])');
    assert.equal(str(torch.tensor(3.5)), 'tensor(3.5000)');
    assert.equal(str(torch.tensor(-2)), 'tensor(-2)');
  }));

test('ints and bools are right-aligned to one width', () =>
  torch.scope(() => {
    assert.equal(str(torch.tensor([1, -10])), 'tensor([  1, -10])');
    assert.equal(str(torch.tensor([true, false])), 'tensor([ True, False])');
    assert.equal(str(torch.tensor([true, true])), 'tensor([True, True])');
    assert.equal(str(torch.tensor([1, 2], { dtype: 'int32' })), 'tensor([1, 2], dtype=torch.int32)');
    assert.equal(str(torch.tensor([2n ** 60n + 1n])), 'tensor([1152921504606846977])');
  }));

test('rows wrap at 80 columns', () =>
  torch.scope(() => {
    // width 2 + ', ' = 4 columns per element; (80 - 7) / 4 → 18 per line
    assert.equal(
      str(torch.arange(30)),
      'tensor([ 0,  1,  2,  3,  4,  5,  6,  7,  8,  9, 10, 11, 12, 13, 14, 15, 16, 17,\n' + '        18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29])',
    );
    // nested rows are indented one more: (80 - 8) / 4 → 18 per line
    assert.equal(
      str(torch.arange(40).reshape(2, 20)),
      'tensor([[ 0,  1,  2,  3,  4,  5,  6,  7,  8,  9, 10, 11, 12, 13, 14, 15, 16, 17,\n' +
        '         18, 19],\n' +
        '        [20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37,\n' +
        '         38, 39]])',
    );
    // suffixes follow on the last line while it fits
    assert.equal(
      str(torch.arange(10, { dtype: 'float64' }).div(4)),
      'tensor([0.0000, 0.2500, 0.5000, 0.7500, 1.0000, 1.2500, 1.5000, 1.7500, 2.0000,\n' + '        2.2500], dtype=torch.float64)',
    );
  }));

test('more than 1000 elements are summarised with 3 edge items', () =>
  torch.scope(() => {
    assert.equal(str(torch.zeros(2000)), 'tensor([0., 0., 0.,  ..., 0., 0., 0.])');
    assert.equal(str(torch.arange(2000)), 'tensor([   0,    1,    2,  ..., 1997, 1998, 1999])');
    const rows = '[0., 0., 0.,  ..., 0., 0., 0.]';
    assert.equal(
      str(torch.zeros(40, 40)),
      `tensor([${rows},\n        ${rows},\n        ${rows},\n        ...,\n        ${rows},\n        ${rows},\n        ${rows}])`,
    );
    // the hidden middle does not affect the format
    const t = torch.zeros(2000);
    t.select(0, 1000).fill_(12345.5);
    assert.equal(str(t), 'tensor([0., 0., 0.,  ..., 0., 0., 0.])');
  }));
