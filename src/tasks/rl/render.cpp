#include "pbtnas/tasks/rl/render.hpp"

#include <dlfcn.h>

#include <cstdlib>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <vector>

#include <EGL/egl.h>
#include <EGL/eglext.h>
#include <GL/osmesa.h>

namespace pbtnas::rl {

namespace {

const char* kInstallHint =
    "install Mesa's EGL (Debian: libegl1 libegl-mesa0 libgl1-mesa-dri) or OSMesa (libosmesa6), as "
    "jobs/setup.sh does, or NVIDIA's driver with its EGL library on GPU nodes; MUJOCO_GL=egl|osmesa "
    "picks one";

// ---- EGL, through dlopen ----
struct EglApi {
  void* lib = nullptr;
  PFNEGLGETPROCADDRESSPROC getProcAddress = nullptr;
  PFNEGLGETDISPLAYPROC getDisplay = nullptr;
  PFNEGLINITIALIZEPROC initialize = nullptr;
  PFNEGLTERMINATEPROC terminate = nullptr;
  PFNEGLCHOOSECONFIGPROC chooseConfig = nullptr;
  PFNEGLBINDAPIPROC bindApi = nullptr;
  PFNEGLCREATECONTEXTPROC createContext = nullptr;
  PFNEGLDESTROYCONTEXTPROC destroyContext = nullptr;
  PFNEGLMAKECURRENTPROC makeCurrent = nullptr;
  PFNEGLGETERRORPROC getError = nullptr;
  PFNEGLQUERYSTRINGPROC queryString = nullptr;
  PFNEGLGETPLATFORMDISPLAYEXTPROC getPlatformDisplayExt = nullptr;
  PFNEGLQUERYDEVICESEXTPROC queryDevicesExt = nullptr;
  EGLDisplay display = EGL_NO_DISPLAY;
  EGLConfig config = nullptr;
};

// ---- OSMesa, through dlopen ----
using OSMesaCreateContextExtFn = OSMesaContext (*)(GLenum, GLint, GLint, GLint, OSMesaContext);
using OSMesaDestroyContextFn = void (*)(OSMesaContext);
using OSMesaMakeCurrentFn = GLboolean (*)(OSMesaContext, void*, GLenum, GLsizei, GLsizei);
struct OsmesaApi {
  void* lib = nullptr;
  OSMesaCreateContextExtFn create = nullptr;
  OSMesaDestroyContextFn destroy = nullptr;
  OSMesaMakeCurrentFn makeCurrent = nullptr;
};

std::mutex g_mutex;
bool g_loaded = false;
GlBackend g_backend = GlBackend::Auto;
EglApi g_egl;
OsmesaApi g_osmesa;

template <class F>
bool sym(void* lib, const char* name, F& out) {
  out = reinterpret_cast<F>(dlsym(lib, name));
  return out != nullptr;
}

bool try_egl_display(EGLDisplay dpy, std::string& why) {
  if (dpy == EGL_NO_DISPLAY) return false;
  EGLint major = 0, minor = 0;
  if (!g_egl.initialize(dpy, &major, &minor)) return false;
  const EGLint attribs[] = {EGL_SURFACE_TYPE, EGL_PBUFFER_BIT, EGL_RED_SIZE, 8, EGL_GREEN_SIZE, 8,
                            EGL_BLUE_SIZE, 8, EGL_ALPHA_SIZE, 8, EGL_DEPTH_SIZE, 24, EGL_RENDERABLE_TYPE,
                            EGL_OPENGL_BIT, EGL_NONE};
  EGLConfig cfg = nullptr;
  EGLint n = 0;
  if (!g_egl.chooseConfig(dpy, attribs, &cfg, 1, &n) || n < 1) {
    // Surfaceless contexts need no pbuffer-capable config.
    const EGLint any[] = {EGL_RENDERABLE_TYPE, EGL_OPENGL_BIT, EGL_NONE};
    if (!g_egl.chooseConfig(dpy, any, &cfg, 1, &n) || n < 1) {
      why = "no OpenGL-capable EGL config";
      g_egl.terminate(dpy);
      return false;
    }
  }
  if (!g_egl.bindApi(EGL_OPENGL_API)) {
    why = "eglBindAPI(EGL_OPENGL_API) failed";
    g_egl.terminate(dpy);
    return false;
  }
  // Check that a context can be made current without a surface.
  EGLContext ctx = g_egl.createContext(dpy, cfg, EGL_NO_CONTEXT, nullptr);
  if (ctx == EGL_NO_CONTEXT || !g_egl.makeCurrent(dpy, EGL_NO_SURFACE, EGL_NO_SURFACE, ctx)) {
    if (ctx != EGL_NO_CONTEXT) g_egl.destroyContext(dpy, ctx);
    why = "cannot make an OpenGL context current without a surface";
    g_egl.terminate(dpy);
    return false;
  }
  g_egl.makeCurrent(dpy, EGL_NO_SURFACE, EGL_NO_SURFACE, EGL_NO_CONTEXT);
  g_egl.destroyContext(dpy, ctx);
  g_egl.display = dpy;
  g_egl.config = cfg;
  return true;
}

// Loads libEGL and finds a display that gives a surfaceless OpenGL context; "" or why not.
std::string load_egl() {
  void* lib = dlopen("libEGL.so.1", RTLD_NOW | RTLD_GLOBAL);
  if (!lib) return std::string("cannot load libEGL.so.1 (") + dlerror() + ")";
  g_egl.lib = lib;
  if (!sym(lib, "eglGetProcAddress", g_egl.getProcAddress) || !sym(lib, "eglGetDisplay", g_egl.getDisplay) ||
      !sym(lib, "eglInitialize", g_egl.initialize) || !sym(lib, "eglTerminate", g_egl.terminate) ||
      !sym(lib, "eglChooseConfig", g_egl.chooseConfig) || !sym(lib, "eglBindAPI", g_egl.bindApi) ||
      !sym(lib, "eglCreateContext", g_egl.createContext) ||
      !sym(lib, "eglDestroyContext", g_egl.destroyContext) || !sym(lib, "eglMakeCurrent", g_egl.makeCurrent) ||
      !sym(lib, "eglGetError", g_egl.getError) || !sym(lib, "eglQueryString", g_egl.queryString))
    return "libEGL.so.1 lacks core EGL functions";
  g_egl.getPlatformDisplayExt =
      reinterpret_cast<PFNEGLGETPLATFORMDISPLAYEXTPROC>(g_egl.getProcAddress("eglGetPlatformDisplayEXT"));
  g_egl.queryDevicesExt = reinterpret_cast<PFNEGLQUERYDEVICESEXTPROC>(g_egl.getProcAddress("eglQueryDevicesEXT"));
  std::string why;
  // 1. The devices (NVIDIA's driver on GPU nodes; Mesa lists a software device too).
  if (g_egl.getPlatformDisplayExt && g_egl.queryDevicesExt) {
    EGLDeviceEXT devices[16];
    EGLint n = 0;
    if (g_egl.queryDevicesExt(16, devices, &n))
      for (EGLint i = 0; i < n; ++i)
        if (try_egl_display(g_egl.getPlatformDisplayExt(EGL_PLATFORM_DEVICE_EXT, devices[i], nullptr), why))
          return "";
  }
  // 2. Mesa's surfaceless platform.
  if (g_egl.getPlatformDisplayExt &&
      try_egl_display(g_egl.getPlatformDisplayExt(EGL_PLATFORM_SURFACELESS_MESA, EGL_DEFAULT_DISPLAY, nullptr), why))
    return "";
  // 3. The default display.
  if (try_egl_display(g_egl.getDisplay(EGL_DEFAULT_DISPLAY), why)) return "";
  return "no EGL device or surfaceless display gives an OpenGL context" + (why.empty() ? "" : " (" + why + ")");
}

std::string load_osmesa() {
  void* lib = dlopen("libOSMesa.so.8", RTLD_NOW | RTLD_GLOBAL);
  if (!lib) lib = dlopen("libOSMesa.so", RTLD_NOW | RTLD_GLOBAL);
  if (!lib) return std::string("cannot load libOSMesa.so.8 (") + dlerror() + ")";
  g_osmesa.lib = lib;
  if (!sym(lib, "OSMesaCreateContextExt", g_osmesa.create) || !sym(lib, "OSMesaDestroyContext", g_osmesa.destroy) ||
      !sym(lib, "OSMesaMakeCurrent", g_osmesa.makeCurrent))
    return "libOSMesa lacks the OSMesa functions";
  return "";
}

GlBackend env_override(GlBackend requested) {
  const char* v = std::getenv("MUJOCO_GL");
  if (!v || !*v) return requested;
  const std::string s(v);
  if (s == "egl") return GlBackend::Egl;
  if (s == "osmesa") return GlBackend::Osmesa;
  throw std::runtime_error("MUJOCO_GL='" + s + "' is not a rendering platform pbtnas supports; use egl or osmesa "
                           "(or unset it)");
}

}  // namespace

GlBackend parse_gl_backend(const std::string& name) {
  if (name == "auto") return GlBackend::Auto;
  if (name == "egl") return GlBackend::Egl;
  if (name == "osmesa") return GlBackend::Osmesa;
  throw std::invalid_argument("'" + name + "' is not a rendering platform; expected auto, egl or osmesa");
}

const char* gl_backend_name(GlBackend b) {
  switch (b) {
    case GlBackend::Auto: return "auto";
    case GlBackend::Egl: return "egl";
    case GlBackend::Osmesa: return "osmesa";
  }
  return "?";
}

GlBackend ensure_gl(GlBackend requested) {
  std::lock_guard<std::mutex> lock(g_mutex);
  const GlBackend want = env_override(requested);
  if (g_loaded) {
    if (want != GlBackend::Auto && want != g_backend)
      throw std::runtime_error(std::string("rendering: this process already renders with ") + gl_backend_name(g_backend) +
                               "; it cannot switch to " + gl_backend_name(want));
    return g_backend;
  }
  std::string report;
  if (want == GlBackend::Auto || want == GlBackend::Egl) {
    const std::string why = load_egl();
    if (why.empty()) {
      g_loaded = true;
      g_backend = GlBackend::Egl;
      return g_backend;
    }
    report += "EGL: " + why;
    if (g_egl.lib) {
      dlclose(g_egl.lib);  // so that MuJoCo does not pick it up instead of OSMesa
      g_egl = EglApi{};
    }
  }
  if (want == GlBackend::Auto || want == GlBackend::Osmesa) {
    const std::string why = load_osmesa();
    if (why.empty()) {
      g_loaded = true;
      g_backend = GlBackend::Osmesa;
      return g_backend;
    }
    report += (report.empty() ? "" : "; ") + std::string("OSMesa: ") + why;
  }
  throw std::runtime_error("rendering: no OpenGL platform for offscreen rendering works (" + report + "); fix: " +
                           kInstallHint);
}

std::string gl_unavailable(GlBackend requested) {
  try {
    ensure_gl(requested);
    return "";
  } catch (const std::exception& e) {
    return e.what();
  }
}

struct Renderer::Context {
  GlBackend backend = GlBackend::Auto;
  EGLContext egl = EGL_NO_CONTEXT;
  OSMesaContext osmesa = nullptr;
  std::vector<unsigned char> osmesa_buffer;
  int w = 0, h = 0;
  void make_current() {
    if (backend == GlBackend::Egl) {
      if (!g_egl.makeCurrent(g_egl.display, EGL_NO_SURFACE, EGL_NO_SURFACE, egl))
        throw std::runtime_error("rendering: eglMakeCurrent failed");
    } else if (!g_osmesa.makeCurrent(osmesa, osmesa_buffer.data(), GL_UNSIGNED_BYTE, w, h)) {
      throw std::runtime_error("rendering: OSMesaMakeCurrent failed");
    }
  }
};

Renderer::Renderer(const mjModel* model, int width, int height, GlBackend backend)
    : ctx_(std::make_unique<Context>()), width_(width), height_(height) {
  if (width < 1 || height < 1) throw std::invalid_argument("rendering: frame size must be positive");
  if (width > model->vis.global.offwidth || height > model->vis.global.offheight)
    throw std::invalid_argument("rendering: frame larger than the model's offscreen buffer");
  ctx_->backend = ensure_gl(backend);
  ctx_->w = width;
  ctx_->h = height;
  if (ctx_->backend == GlBackend::Egl) {
    ctx_->egl = g_egl.createContext(g_egl.display, g_egl.config, EGL_NO_CONTEXT, nullptr);
    if (ctx_->egl == EGL_NO_CONTEXT) throw std::runtime_error("rendering: eglCreateContext failed");
  } else {
    ctx_->osmesa = g_osmesa.create(OSMESA_RGBA, 24, 0, 0, nullptr);
    if (!ctx_->osmesa) throw std::runtime_error("rendering: OSMesaCreateContextExt failed");
    ctx_->osmesa_buffer.assign(static_cast<std::size_t>(width) * height * 4, 0);
  }
  ctx_->make_current();
  mjv_defaultScene(&scene_);
  mjv_defaultOption(&option_);
  mjr_defaultContext(&con_);
  mjv_makeScene(model, &scene_, 1000);
  mjr_makeContext(model, &con_, mjFONTSCALE_100);
  mjr_setBuffer(mjFB_OFFSCREEN, &con_);
  if (con_.currentBuffer != mjFB_OFFSCREEN) throw std::runtime_error("rendering: no offscreen buffer");
  rgb_.reset(new std::uint8_t[static_cast<std::size_t>(width) * height * 3]);
}

Renderer::~Renderer() {
  try {
    ctx_->make_current();
  } catch (...) {
  }
  mjr_freeContext(&con_);
  mjv_freeScene(&scene_);
  if (ctx_->backend == GlBackend::Egl) {
    g_egl.makeCurrent(g_egl.display, EGL_NO_SURFACE, EGL_NO_SURFACE, EGL_NO_CONTEXT);
    g_egl.destroyContext(g_egl.display, ctx_->egl);
  } else if (ctx_->osmesa) {
    g_osmesa.destroy(ctx_->osmesa);
  }
}

void Renderer::make_current() { ctx_->make_current(); }

void Renderer::render(const mjModel* model, mjData* data, int camera, std::uint8_t* out) {
  if (camera < 0 || camera >= model->ncam)
    throw std::invalid_argument("rendering: camera " + std::to_string(camera) + " is not one of the model's " +
                                std::to_string(model->ncam) + " cameras");
  ctx_->make_current();
  mjvCamera cam;
  mjv_defaultCamera(&cam);
  cam.type = mjCAMERA_FIXED;
  cam.fixedcamid = camera;
  mjv_updateScene(model, data, &option_, nullptr, &cam, mjCAT_ALL, &scene_);
  const mjrRect viewport{0, 0, width_, height_};
  mjr_render(viewport, &scene_, &con_);
  mjr_readPixels(rgb_.get(), nullptr, viewport, &con_);
  // H x W x 3 bottom-up -> 3 x H x W top-down.
  const std::size_t plane = static_cast<std::size_t>(width_) * height_;
  for (int y = 0; y < height_; ++y) {
    const std::uint8_t* row = rgb_.get() + static_cast<std::size_t>(height_ - 1 - y) * width_ * 3;
    for (int x = 0; x < width_; ++x)
      for (int c = 0; c < 3; ++c) out[c * plane + static_cast<std::size_t>(y) * width_ + x] = row[x * 3 + c];
  }
}

}  // namespace pbtnas::rl
