// MARK: - Model tensors ↔ bytes

extension RGBImage {
    /// The byte diffusers stores for a model output `x` (nominally in [−1, 1]).
    ///
    /// Matches diffusers' `VaeImageProcessor`/`numpy_to_pil` bit for bit in float32:
    /// `v = (x / 2 + 0.5).clamp(0, 1)`, then numpy's `(v * 255).round().astype("uint8")`.
    /// numpy rounds half to even, so `v * 255 == 2.5` gives 2 and `127.5` (x = 0) gives 128.
    /// NaN (which `astype` leaves undefined) maps to 0.
    @inlinable
    public static func byte(fromSigned x: Float) -> UInt8 {
        let v = x / 2 + 0.5
        guard v > 0 else { return 0 }  // also NaN
        guard v < 1 else { return 255 }
        return UInt8((v * 255).rounded(.toNearestOrEven))
    }

    /// The model-space value of a byte: `x = p / 127.5 − 1`, so 0 → −1 and 255 → 1.
    @inlinable
    public static func signed(fromByte p: UInt8) -> Float {
        Float(p) / 127.5 - 1
    }

    /// An image from a planar (CHW) float buffer in [−1, 1], e.g. one sample of a model output,
    /// mapped with ``byte(fromSigned:)``. `channels` must be 1 or 3 and
    /// `chw.count == channels * height * width`.
    public init(chw: UnsafeBufferPointer<Float>, channels: Int, height: Int, width: Int) throws(ImagingError) {
        try Self.validate(width: width, height: height, channels: channels, count: nil)
        guard chw.count == channels * height * width else {
            throw .invalidPixels(
                reason: "\(chw.count) floats for CHW \(channels)×\(height)×\(width) "
                    + "(expected \(channels * height * width))")
        }
        let plane = height * width
        var out = [UInt8](repeating: 0, count: plane * channels)
        out.withUnsafeMutableBufferPointer { dst in
            for c in 0..<channels {
                for i in 0..<plane {
                    dst[i * channels + c] = Self.byte(fromSigned: chw[c * plane + i])
                }
            }
        }
        try self.init(width: width, height: height, channels: channels, pixels: out)
    }

    /// An image from a planar (CHW) float array in [−1, 1]; see the buffer-pointer initialiser.
    public init(chw: [Float], channels: Int, height: Int, width: Int) throws(ImagingError) {
        let result = chw.withUnsafeBufferPointer { buffer in
            Result { () throws(ImagingError) -> RGBImage in
                try RGBImage(chw: buffer, channels: channels, height: height, width: width)
            }
        }
        self = try result.get()
    }

    /// The samples as planar (CHW) floats in [−1, 1] (``signed(fromByte:)``), the layout a model takes.
    public func chwFloats() -> [Float] {
        let plane = height * width
        var out = [Float](repeating: 0, count: plane * channels)
        pixels.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for c in 0..<channels {
                    for i in 0..<plane {
                        dst[c * plane + i] = Self.signed(fromByte: src[i * channels + c])
                    }
                }
            }
        }
        return out
    }
}

extension RGBImage {
    /// One image per sample of a batched (NCHW) float buffer in [−1, 1], e.g. a model's whole output.
    public static func batch(
        nchw: UnsafeBufferPointer<Float>, count: Int, channels: Int, height: Int, width: Int
    ) throws(ImagingError) -> [RGBImage] {
        let sample = channels * height * width
        guard count >= 0, nchw.count == count * sample else {
            throw .invalidPixels(
                reason: "\(nchw.count) floats for NCHW \(count)×\(channels)×\(height)×\(width) "
                    + "(expected \(count * sample))")
        }
        var images: [RGBImage] = []
        for n in 0..<count {
            let slice = UnsafeBufferPointer(rebasing: nchw[(n * sample)..<((n + 1) * sample)])
            images.append(try RGBImage(chw: slice, channels: channels, height: height, width: width))
        }
        return images
    }
}
