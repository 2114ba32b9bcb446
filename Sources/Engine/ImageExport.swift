import Foundation
import Imaging
import Tensors
import Output

/// From sample tensors to pictures and PNG files.
public enum ImageExport {
    /// One picture per sample of x (B, C, H, W) in [−1, 1], pixels round(clamp(x/2 + 0.5, 0, 1)·255).
    /// One-channel samples give grey pictures, three-channel ones RGB; other counts are an error.
    public static func images(_ x: Tensor) throws -> [RGBImage] {
        guard x.rank == 4 else { throw ImagingError.invalidPixels(reason: "a sample of shape \(x.shape) is not a picture") }
        try checkPicture(channels: x.shape[1])
        return try (0..<x.shape[0]).map { b in
            try RGBImage(chw: x.slice(b).data, channels: x.shape[1], height: x.shape[2], width: x.shape[3])
        }
    }

    /// Refuses channel counts other than 1 (grey) and 3 (RGB), before any sampling is spent.
    public static func checkPicture(channels: Int) throws {
        guard channels == 1 || channels == 3 else {
            throw ImagingError.invalidPixels(reason: "the model's samples have \(channels) channels; only 1 (grey) or 3 (RGB) can be written as PNG")
        }
    }

    /// All samples of x in one grid PNG at `path`, with `text` in tEXt chunks; a single sample is
    /// written as itself (no border), so it can go straight back into `ddim invert`. Written to a
    /// temporary file first, so a failure leaves no partial PNG.
    public static func writeGrid(_ x: Tensor, to path: String, text: [(String, String)], columns: Int? = nil) throws {
        let pictures = try images(x)
        let grid = try ImageGrid.compose(pictures, columns: columns, padding: pictures.count == 1 ? 0 : 2)
        try PNGWriter().write(grid, to: path, text: text.map { PNGText($0.0, $0.1) })
    }

    /// One PNG per sample in `folder` (created if needed): 00000.png, 00001.png, … from `first`.
    @discardableResult
    public static func writeEach(_ x: Tensor, to folder: String, first: Int = 0, text: [(String, String)]) throws -> [String] {
        do {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        } catch {
            throw ImagingError.cannotWrite(path: folder, reason: "cannot create the folder")
        }
        var paths: [String] = []
        for (i, image) in try images(x).enumerated() {
            let path = OutputPath.join(folder, String(format: "%05d.png", first + i))
            try PNGWriter().write(image, to: path, text: text.map { PNGText($0.0, $0.1) })
            paths.append(path)
        }
        return paths
    }
}
