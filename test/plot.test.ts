// linePanels (lib/data/plot.ts): the image size, the curve's markers where the values put them
// (higher value → higher on the image), white elsewhere in the plot area, and bad input refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as torch from '../lib/torch.js';
import { linePanels } from '../lib/data/plot.js';

const pixel = (img: torch.Tensor, x: number, y: number) => [0, 1, 2].map((c) => img.select(0, c).select(0, y).select(0, x).item() as number);

test('linePanels: two panels side by side, markers on the curve, values ordered upwards', () =>
  torch.scope(() => {
    const psnr = [13.7, 14.4, 15.5, 17.2, 18.9],
      ssim = [0.3, 0.41, 0.52, 0.6, 0.66];
    const { image, points } = linePanels(
      [1, 2, 4, 8, 16],
      [
        { title: 'PSNR (dB)', values: psnr },
        { title: 'SSIM', values: ssim },
      ],
      { xLabel: 'tokens kept', panelWidth: 300, panelHeight: 200 },
    );
    assert.deepEqual(image.shape, [3, 200, 600]);
    assert.equal(image.dtype, 'float32');
    assert.equal(points.length, 2);
    for (const [p, pts] of points.entries()) {
      assert.equal(pts.length, 5);
      for (let i = 0; i < pts.length; i++) {
        const [x, y] = pts[i];
        assert.ok(x >= p * 300 && x < (p + 1) * 300 && y >= 0 && y < 200, `panel ${p} point ${i} at (${x}, ${y}) lies in its panel`);
        const [r, g, b] = pixel(image, x, y);
        assert.ok(b > 0.5 && r < 0.5, `panel ${p} point ${i}: the marker is drawn (rgb ${r}, ${g}, ${b})`);
        if (i > 0) {
          assert.ok(x > pts[i - 1][0], 'x increases with the position');
          assert.ok(y < pts[i - 1][1], 'a larger value is drawn higher');
        }
      }
      // the mid-point between two markers, a little off the curve, is background (white or a grey tick line)
      const [xa, ya] = pts[0],
        [xb, yb] = pts[1];
      const [r] = pixel(image, Math.round((xa + xb) / 2), Math.round((ya + yb) / 2) + 12);
      assert.ok(r > 0.8, `off the curve the plot is light (r ${r})`);
    }
    const dark = image.lt(0.5).sum().item() as number;
    assert.ok(dark > 1000, `axes, labels and curves are drawn (${dark} dark channel values)`);
  }));

test('linePanels: equal values give a flat curve; bad input is refused by name', () =>
  torch.scope(() => {
    const { points } = linePanels([1, 2], [{ title: 'flat', values: [5, 5] }]);
    assert.equal(points[0][0][1], points[0][1][1]);
    assert.throws(() => linePanels([1, 2, 4], [{ title: 'PSNR', values: [1, 2] }]), /panel 'PSNR' has 2 values for 3 x positions/);
    assert.throws(() => linePanels([1], [{ title: 'SSIM', values: [NaN] }]), /panel 'SSIM' has a non-finite value/);
    assert.throws(() => linePanels([], [{ title: 'x', values: [] }]), /no x positions/);
  }));
