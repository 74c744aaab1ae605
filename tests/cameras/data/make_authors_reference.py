"""Generate reference outputs with the authors' code (github HeliosZhao/GenXD) for genxd's tests."""
import sys, types, json, numpy as np, torch
for name in ["ipdb", "jaxtyping", "einops", "torchvision", "torchvision.transforms", "imageio", "imageio.v2"]:
    m = types.ModuleType(name); sys.modules[name] = m
sys.modules["jaxtyping"].Float = sys.modules["jaxtyping"].UInt8 = sys.modules["jaxtyping"].Int = type("F", (), {"__class_getitem__": classmethod(lambda c, k: c)})
sys.modules["jaxtyping"].install_import_hook = lambda *a, **k: None
sys.modules["einops"].rearrange = sys.modules["einops"].repeat = None
sys.modules["torchvision"].transforms = sys.modules["torchvision.transforms"]
sys.path.insert(0, "/tmp/genxd_ref"); sys.path.insert(0, "/tmp/genxd_ref/tools")
crop = types.ModuleType("dataset.crop_shim"); crop.apply_crop_shim = None
import importlib.util
spec = importlib.util.spec_from_file_location("custom_cam", "/tmp/genxd_ref/dataset/custom_cam.py", submodule_search_locations=None)
pkg = types.ModuleType("dataset"); pkg.__path__ = []; sys.modules["dataset"] = pkg; sys.modules["dataset.crop_shim"] = crop
cc = importlib.util.module_from_spec(spec); cc.__package__ = "dataset"; spec.loader.exec_module(cc)
from internal import cam_utils as cu

out = {"source": "HeliosZhao/GenXD commit 2c05146: dataset/custom_cam.py, tools/internal/cam_utils.py"}
out["orbit_e15_a0_360_r2_n12_w2c"] = cc.generate_orbit_cameras(15, [0, 360], radius=2, N=12).tolist()
out["orbit_e0_a30_90_r1.5_n8_w2c"] = cc.generate_orbit_cameras(0, [30, 90], radius=1.5, N=8).tolist()
out["orbit_consistent4d_e0_a15_345_r2_n12_w2c"] = cc.generate_orbit_cameras(0, [15, 345], radius=2, N=12, consistent4d=True).tolist()
out["forward_e10_a-30_30_r2_n12_w2c"] = cc.generate_forwardfacing_cameras(10, [-30, 30], radius=2, N=12).tolist()

rng = np.random.default_rng(0)
eyes = rng.normal(size=(9, 3)) * 0.3 + [0, 0, -3]
tg = rng.normal(size=(9, 3)) * 0.1
def look_at_cv(eye, t):
    z = (t - eye) / np.linalg.norm(t - eye); x = np.cross(z, [0, 1, 0]); x /= np.linalg.norm(x); y = np.cross(z, x)
    m = np.eye(4); m[:3, :3] = np.stack([x, y, z], 1); m[:3, 3] = eye; return m
c2w = np.stack([look_at_cv(e, t) for e, t in zip(eyes, tg)])
w2c = np.linalg.inv(c2w)[:, :3]
nerf = cu.colmap_w2c_3x4_to_nerf(w2c)
out["fit_input_w2c"] = w2c.tolist()
ref = cu.generate_interpolated_path(nerf, n_frames=10, spline_degree=5, smoothness=.03, rot_weight=.1, shift_x=[0.3], shift_z=[-0.4])
out["fit_interpolated_n10_sx0.3_sz-0.4_w2c"] = cu.nerf_c2w_3x4_to_colmap(ref).tolist()
ref = cu.generate_spiral_path(nerf, np.array([[1.0, 10.0]] * 9), n_frames=8, n_rots=1, zrate=0.5, perc=90, shift_z=[0.3])
out["fit_spiral_bounds1_10_n8_zrate0.5_perc90_sz0.3_w2c"] = cu.nerf_c2w_3x4_to_colmap(ref).tolist()
ang = np.linspace(0, 2 * np.pi, 12, endpoint=False)
eyes = np.stack([3 * np.cos(ang), 3 * np.sin(ang), 0.5 + 0.2 * np.sin(3 * ang)], 1)
def look_at_zup(eye):
    z = -eye / np.linalg.norm(eye); x = np.cross(z, [0, 0, 1]); x /= np.linalg.norm(x); y = np.cross(z, x)
    m = np.eye(4); m[:3, :3] = np.stack([x, y, z], 1); m[:3, 3] = eye; return m
c2w360 = np.stack([look_at_zup(e) for e in eyes]); w2c360 = np.linalg.inv(c2w360)[:, :3]
out["fit_input_360_w2c"] = w2c360.tolist()
ref = cu.generate_ellipse_path(cu.colmap_w2c_3x4_to_nerf(w2c360), n_frames=10, const_speed=True, z_variation=0., z_phase=0., shift_z=[0.5])
out["fit_ellipse_n10_sz0.5_w2c"] = cu.nerf_c2w_3x4_to_colmap(ref).tolist()
def r(x):
    return np.round(np.asarray(x, dtype=np.float64), 12).tolist() if isinstance(x, list) else x
json.dump({k: r(v) for k, v in out.items()}, open(sys.argv[1], "w"))
