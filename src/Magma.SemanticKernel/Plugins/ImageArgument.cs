using Magma.Inference;
using Magma.Inference.Imaging;

namespace Magma.SemanticKernel;

/// <summary>Reads the <c>image</c> argument of a plugin function: a local path, a <c>file:</c> URI or a <c>data:image/…;base64,</c> URI.</summary>
internal static class ImageArgument
{
    /// <summary>Reads the header, checks the model's decoded-pixel budget, then decodes.</summary>
    public static RgbImage Load(string image, MagmaModel model, string parameter = "image")
    {
        EncodedImage encoded = Read(image, parameter);
        if (encoded.PixelCount > model.MaxDecodedPixelsPerRequest)
        {
            throw new MagmaInputException(
                $"Argument '{parameter}' is {encoded.Width}x{encoded.Height} ({encoded.PixelCount} pixels), more than the per-request budget of {model.MaxDecodedPixelsPerRequest} (MagmaModelOptions.MaxDecodedPixelsPerRequest). Nothing was decoded; downscale the image.");
        }

        return encoded.Decode();
    }

    private static EncodedImage Read(string image, string parameter)
    {
        if (string.IsNullOrWhiteSpace(image))
        {
            throw new MagmaInputException($"Argument '{parameter}' is empty; pass a local image path, a file: URI or a data:image/...;base64, URI.");
        }

        image = image.Trim();
        if (image.StartsWith("data:", StringComparison.OrdinalIgnoreCase))
        {
            int comma = image.IndexOf(',', StringComparison.Ordinal);
            string header = comma > 0 ? image[..comma] : string.Empty;
            if (comma < 0 || !header.EndsWith(";base64", StringComparison.OrdinalIgnoreCase) || !header.StartsWith("data:image/", StringComparison.OrdinalIgnoreCase))
            {
                throw new MagmaInputException($"Argument '{parameter}' is a data URI but not 'data:image/<type>;base64,<bytes>'.");
            }

            byte[] bytes;
            try
            {
                bytes = Convert.FromBase64String(image[(comma + 1)..]);
            }
            catch (FormatException e)
            {
                throw new MagmaInputException($"Argument '{parameter}' is a data URI whose payload is not valid base64.", e);
            }

            return EncodedImage.Read(bytes, sourceName: parameter);
        }

        string path = image;
        if (Uri.TryCreate(image, UriKind.Absolute, out Uri? uri) && !Path.IsPathRooted(image))
        {
            if (!uri.IsFile)
            {
                throw new MagmaInputException(
                    $"Argument '{parameter}' is the {uri.Scheme}: URI '{image}'; Magma runs offline and reads only local paths, file: URIs and data: URIs.");
            }

            path = uri.LocalPath;
        }
        else if (image.StartsWith("file:", StringComparison.OrdinalIgnoreCase) && uri is not null)
        {
            path = uri.LocalPath;
        }

        if (!File.Exists(path))
        {
            throw new MagmaInputException($"Argument '{parameter}': the image file '{path}' does not exist.");
        }

        return EncodedImage.Load(path);
    }
}
