namespace SamEngine.Tests.Backends.Reference;

/// <summary>
/// The plain attention the fast one is checked against: every score materialised, softmax in double,
/// scalar loops, window partition and padding spelled out as upstream's <c>window_partition</c> does.
/// </summary>
internal static class AttentionReference
{
    /// <summary>ViT attention on qkv [h, w, 3C] → [h, w, C] (window 0 = global).</summary>
    public static float[] Vit(float[] qkv, int h, int w, int heads, int window, float[] relH, float[] relW, float[] qkvBias)
    {
        int c = qkv.Length / (h * w * 3), hd = c / heads;
        int wh = window > 0 ? window : h, ww = window > 0 ? window : w, t = wh * ww;
        int nwy = (h + wh - 1) / wh, nwx = (w + ww - 1) / ww;
        var y = new float[h * w * c];
        for (int wy = 0; wy < nwy; wy++)
            for (int wx = 0; wx < nwx; wx++)
                for (int head = 0; head < heads; head++)
                {
                    float[] q = new float[t * hd], k = new float[t * hd], v = new float[t * hd];
                    for (int ti = 0; ti < t; ti++)
                    {
                        int gy = wy * wh + ti / ww, gx = wx * ww + ti % ww;
                        for (int part = 0; part < 3; part++)
                        {
                            var dst = part == 0 ? q : part == 1 ? k : v;
                            for (int e = 0; e < hd; e++)
                            {
                                int ch = part * c + head * hd + e;
                                dst[ti * hd + e] = gy < h && gx < w ? qkv[(gy * w + gx) * 3 * c + ch] : qkvBias[ch];
                            }
                        }
                    }
                    var o = Attend(q, k, v, t, t, hd, 1f / MathF.Sqrt(hd), scaleQueryFirst: true, (relH, relW, wh, ww));
                    for (int ti = 0; ti < t; ti++)
                    {
                        int gy = wy * wh + ti / ww, gx = wx * ww + ti % ww;
                        if (gy < h && gx < w) Array.Copy(o, ti * hd, y, (gy * w + gx) * c + head * hd, hd);
                    }
                }
        return y;
    }

    /// <summary>softmax(scale q kᵀ + relpos(q)) v for one head: q [nq, d], k and v [nk, d].</summary>
    public static float[] Attend(float[] q, float[] k, float[] v, int nq, int nk, int d, float scale, bool scaleQueryFirst,
        (float[] H, float[] W, int Gh, int Gw)? relPos)
    {
        var o = new float[nq * d];
        var scores = new double[nk];
        for (int i = 0; i < nq; i++)
        {
            for (int j = 0; j < nk; j++)
            {
                double s = 0;
                for (int e = 0; e < d; e++) s += (double)(scaleQueryFirst ? q[i * d + e] * scale : q[i * d + e]) * k[j * d + e];
                if (!scaleQueryFirst) s *= scale;
                if (relPos is var (th, tw, gh, gw))
                {
                    int qy = i / gw, qx = i % gw, ky = j / gw, kx = j % gw;
                    for (int e = 0; e < d; e++)
                        s += (double)q[i * d + e] * (th[(qy - ky + gh - 1) * d + e] + (double)tw[(qx - kx + gw - 1) * d + e]);
                }
                scores[j] = s;
            }
            double max = scores.Max(), sum = 0;
            for (int j = 0; j < nk; j++) sum += scores[j] = Math.Exp(scores[j] - max);
            for (int e = 0; e < d; e++)
            {
                double acc = 0;
                for (int j = 0; j < nk; j++) acc += scores[j] * v[j * d + e];
                o[i * d + e] = (float)(acc / sum);
            }
        }
        return o;
    }
}
