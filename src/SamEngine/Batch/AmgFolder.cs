using System.Globalization;
using System.Text;
using SamEngine.Amg;
using SixLabors.ImageSharp;
using SixLabors.ImageSharp.PixelFormats;

namespace SamEngine.Batch;

/// <summary>
/// An image's masks as the official <c>scripts/amg.py</c> writes them without <c>--convert-to-rle</c>
/// (<c>write_masks_to_folder</c>): <c>i.png</c> per mask (0 or 255, 8-bit gray) and <c>metadata.csv</c>
/// with the header <c>id,area,bbox_x0,bbox_y0,bbox_w,bbox_h,point_input_x,point_input_y,predicted_iou,
/// stability_score,crop_box_x0,crop_box_y0,crop_box_w,crop_box_h</c>, numbers as Python's <c>str</c>
/// prints them, lines joined by '\n' with none after the last.
/// </summary>
public static class AmgFolder
{
    /// <summary>The CSV header of <c>amg.py</c>.</summary>
    public const string Header = "id,area,bbox_x0,bbox_y0,bbox_w,bbox_h,point_input_x,point_input_y,predicted_iou,stability_score,crop_box_x0,crop_box_y0,crop_box_w,crop_box_h";

    /// <summary>Writes the masks and metadata.csv into the existing folder <paramref name="dir"/>.</summary>
    public static void Write(string dir, IReadOnlyList<MaskRecord> records)
    {
        var lines = new List<string> { Header };
        for (int i = 0; i < records.Count; i++)
        {
            var r = records[i];
            var rle = r.Segmentation.Rle;
            var mask = rle.ToMask();
            for (int k = 0; k < mask.Length; k++) mask[k] = mask[k] != 0 ? (byte)255 : (byte)0;
            using (var png = Image.LoadPixelData<L8>(mask, rle.Width, rle.Height))
                png.SaveAsPng(Path.Combine(dir, $"{i}.png"));
            var (x, y) = r.PointCoords[0];
            lines.Add(string.Join(",", [
                Int(i), Int(r.Area), .. r.Bbox.Select(Int), PythonFloat.Format(x), PythonFloat.Format(y),
                PythonFloat.Format(r.PredictedIou), PythonFloat.Format(r.StabilityScore), .. r.CropBox.Select(Int)]));
        }
        File.WriteAllText(Path.Combine(dir, "metadata.csv"), string.Join("\n", lines), new UTF8Encoding(false));
    }

    private static string Int(int v) => v.ToString(CultureInfo.InvariantCulture);
}
