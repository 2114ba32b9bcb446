/// The embedded digits model: a diffusers `UNet2DModel` trained by this project on MNIST digits
/// (scripts/train_default.py, docs/model-card.md), shipped as this target's resources.
///
/// SwiftPM copies `digits/` into `ddim_DefaultModel.resources/` beside the executable; Engine's
/// `ModelStore.loadDefault()` reads it from there, so `ddim` works from any working directory.
public enum DefaultModel {
    /// The resource folder's name.
    public static let folderName = "digits"
    /// The resource bundle's name beside the executable.
    public static let bundleName = "ddim_DefaultModel.resources"
}
