"""Tests of the forecasting harness's scoring: the paired bootstrap behind each verdict, the
verdict itself and its chart. Run with `python3 -m unittest discover -s scripts` (numpy and
pandas; statsforecast is not needed).
"""

import math
import os
import subprocess
import sys
import unittest
import xml.etree.ElementTree as ET

import numpy as np
import pandas as pd

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import forecast_peers as fp  # noqa: E402


def windows(maes, errs=None, naive=2.0):
    """A per-window frame as `score` builds it: series s0..sN, two windows each."""
    rows = []
    for i, mae in enumerate(maes):
        err = 0.0 if errs is None else errs[i]
        rows.append({"series_id": f"s{i // 2}", "cutoff": f"c{i % 2}", "mae": mae, "mse": mae * mae,
                     "b_mae": naive, "b_mse": naive * naive, "pl": 0.0, "err": err,
                     "scale": 1.0, "scale2": 1.0})
    return pd.DataFrame(rows).set_index(["series_id", "cutoff"])


class PairedBootstrap(unittest.TestCase):
    def test_a_uniform_lead_is_certain(self):
        peer = windows([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
        fab = windows([0.9, 1.8, 2.7, 3.6, 4.5, 5.4])
        for intermittent in (False, True):
            b = fp.paired_bootstrap(fab, peer, intermittent)
            self.assertAlmostEqual(b["ratio"], 0.9, places=12)
            self.assertAlmostEqual(b["lo90"], 0.9, places=12)
            self.assertAlmostEqual(b["hi90"], 0.9, places=12)
            self.assertEqual(b["p_at_least_as_accurate"], 1.0)
            self.assertEqual((b["series"], b["windows"]), (3, 6))

    def test_a_mixed_result_is_uncertain_and_the_ratio_is_the_groups(self):
        # fabrik better on one series, worse on the other two: the regular score is the
        # geometric mean of the window ratios, the intermittent one the ratio of the sums.
        peer = windows([1.0, 1.0, 1.0, 1.0, 1.0, 1.0])
        fab = windows([0.5, 0.5, 1.2, 1.2, 1.1, 1.1])
        b = fp.paired_bootstrap(fab, peer, False)
        self.assertAlmostEqual(b["ratio"], math.exp(np.mean(np.log([0.5, 0.5, 1.2, 1.2, 1.1, 1.1]))), places=12)
        self.assertTrue(b["lo90"] < 1.0 < b["hi90"])
        self.assertTrue(0.0 < b["p_at_least_as_accurate"] < 1.0)
        bi = fp.paired_bootstrap(fab, peer, True)
        self.assertAlmostEqual(bi["ratio"], 5.6 / 6.0, places=12)

    def test_bias_is_compared_on_the_pooled_errors(self):
        peer = windows([1.0] * 4, errs=[2.0, 2.0, 2.0, 2.0])
        fab = windows([1.0] * 4, errs=[1.0, -1.5, 0.5, 0.5])
        b = fp.paired_bootstrap(fab, peer, True)
        self.assertEqual(b["p_less_biased"], 1.0)
        self.assertNotIn("p_less_biased", fp.paired_bootstrap(fab, peer, False))

    def test_windows_the_group_does_not_score_are_left_out(self):
        peer = windows([1.0, 1.0, 1.0, 1.0])
        fab = windows([1.0, 0.0, 1.0, 1.0])  # a perfect window has no log ratio
        self.assertEqual(fp.paired_bootstrap(fab, peer, False)["windows"], 3)
        self.assertIsNone(fp.paired_bootstrap(windows([0.0, 0.0]), windows([1.0, 1.0]), False))


class Verdict(unittest.TestCase):
    def results(self, fab, peer, intermittent=False):
        f = "rel_rmsse" if intermittent else "rel_mase"
        r = {"fabrik auto": {f: fab, "bias": 0.1, "bias_pct": 10.0},
             "statsforecast Best": {f: peer, "bias": 0.2, "bias_pct": 20.0},
             "statsforecast Other": {f: peer + 0.1, "bias": 0.05, "bias_pct": 5.0}}
        return r

    def test_the_verdict_names_the_best_peer_and_carries_the_bootstrap(self):
        per = {"fabrik auto": windows([0.9, 0.9, 0.9, 0.9]), "statsforecast Best": windows([1.0] * 4),
               "statsforecast Other": windows([1.1] * 4)}
        text, b = fp.verdict("g", self.results(0.45, 0.5), False, per)
        self.assertIn("best statsforecast Best 0.500: at least as accurate: yes", text)
        self.assertIn("ratio 0.900, 90% interval 0.900..0.900", text)
        self.assertEqual(b["peer"], "Best")
        text, b = fp.verdict("g", self.results(0.55, 0.5, True), True, per)
        self.assertIn("at least as accurate: no", text)
        self.assertIn("less biased: yes", text)
        self.assertIn("less biased in", text)

    def test_a_missing_engine_gives_no_bootstrap(self):
        self.assertEqual(fp.verdict("g", {}, False, {}), ("g: fabrik auto not run", None))


class Chart(unittest.TestCase):
    def test_the_chart_is_svg_with_a_row_per_group(self):
        boot = {"monthly": {"ratio": 1.05, "lo90": 0.9, "hi90": 1.2, "p_at_least_as_accurate": 0.24,
                            "peer": "AutoARIMA", "fabrik_score": 0.62, "peer_score": 0.59},
                "options <&>": {"ratio": 0.98, "lo90": 0.95, "hi90": 1.01, "p_at_least_as_accurate": 0.8,
                                "p_less_biased": 0.3, "peer": "SBA", "fabrik_score": 0.42, "peer_score": 0.43,
                                "fabrik_bias_pct": 11.0, "peer_bias_pct": 5.0}}
        root = ET.fromstring(fp.verdict_svg(boot))  # well-formed, names escaped
        self.assertTrue(root.tag.endswith("svg"))
        circles = root.findall("{http://www.w3.org/2000/svg}circle")
        self.assertEqual(len(circles), 2)
        # Left of the line at 1 when ahead, right of it when behind.
        one = [l for l in root.findall("{http://www.w3.org/2000/svg}line") if l.get("stroke") == "#333"][0]
        x1 = float(one.get("x1"))
        self.assertGreater(float(circles[0].get("cx")), x1)
        self.assertLess(float(circles[1].get("cx")), x1)
        # A perfect score (ratio 0) is drawn at the axis' left end, not refused.
        perfect = {"perfect": dict(boot["monthly"], ratio=0.0, lo90=0.0, hi90=0.0)}
        self.assertEqual(len(ET.fromstring(fp.verdict_svg(perfect)).findall("{http://www.w3.org/2000/svg}circle")), 1)
        texts = "".join(t.text or "" for t in root.iter("{http://www.w3.org/2000/svg}text"))
        self.assertIn("options <&>", texts)
        self.assertIn("bias +11.0% vs +5.0%", texts)


class Groups(unittest.TestCase):
    def test_an_unknown_group_is_refused(self):
        script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "forecast_peers.py")
        r = subprocess.run([sys.executable, script, "--engines", "statsforecast", "--groups", "0", "--speed", "0"],
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 1)
        self.assertIn("unknown group(s) 0", r.stderr)
        self.assertIn("quarterly", r.stderr)


if __name__ == "__main__":
    unittest.main()
