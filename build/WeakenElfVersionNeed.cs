// MSBuild inline task (compiled by RoslynCodeTaskFactory from Directory.Build.targets).
//
// libLibTorchSharp.so from TorchSharp 0.107 was linked with GCC 13 and declares a version requirement on
// GLIBCXX_3.4.32 only for the link-time anchor std::ios_base_library_init, which has no relocation and is
// never bound. Debian 12 ships libstdc++ up to GLIBCXX_3.4.30, so the loader refuses the library. Marking
// that single Elf64_Vernaux entry VER_FLG_WEAK lets the loader accept it; on newer systems the flag is inert.
// The file is rewritten through a temp file + rename so a hard link into the NuGet cache is never modified,
// and its timestamp is kept so incremental copies do not fight the patch.
using System;
using System.IO;
using System.Text;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

public class WeakenElfVersionNeed : Task
{
    private const uint ShtGnuVerneed = 0x6ffffffe;
    private const ushort VerFlgWeak = 0x2;

    [Required]
    public ITaskItem[] Files { get; set; } = Array.Empty<ITaskItem>();

    [Required]
    public string VersionName { get; set; } = "";

    public override bool Execute()
    {
        foreach (var item in Files)
        {
            var path = item.GetMetadata("FullPath");
            try
            {
                var outcome = PatchFile(path, VersionName);
                Log.LogMessage(MessageImportance.Normal, $"WeakenElfVersionNeed: {path}: {outcome}");
            }
            catch (Exception ex)
            {
                Log.LogError($"WeakenElfVersionNeed: cannot patch '{path}': {ex.Message}");
            }
        }
        return !Log.HasLoggedErrors;
    }

    private static string PatchFile(string path, string versionName)
    {
        var bytes = File.ReadAllBytes(path);
        if (bytes.Length < 64 || bytes[0] != 0x7f || bytes[1] != (byte)'E' || bytes[2] != (byte)'L' || bytes[3] != (byte)'F')
            throw new InvalidDataException("not an ELF file");
        if (bytes[4] != 2 || bytes[5] != 1)
            throw new InvalidDataException($"expected ELFCLASS64 little-endian, found class {bytes[4]} data {bytes[5]}");

        var shoff = checked((int)BitConverter.ToUInt64(bytes, 0x28));
        var shentsize = BitConverter.ToUInt16(bytes, 0x3A);
        var shnum = BitConverter.ToUInt16(bytes, 0x3C);
        var changed = 0;
        var found = 0;
        for (var s = 0; s < shnum; s++)
        {
            var sh = shoff + s * shentsize;
            if (BitConverter.ToUInt32(bytes, sh + 4) != ShtGnuVerneed) continue;
            var secOffset = checked((int)BitConverter.ToUInt64(bytes, sh + 0x18));
            var link = BitConverter.ToUInt32(bytes, sh + 0x28);
            var count = BitConverter.ToUInt32(bytes, sh + 0x2C);
            var strOffset = checked((int)BitConverter.ToUInt64(bytes, shoff + (int)link * shentsize + 0x18));

            var need = secOffset;
            for (var i = 0; i < count; i++)
            {
                var auxCount = BitConverter.ToUInt16(bytes, need + 2);
                var aux = need + (int)BitConverter.ToUInt32(bytes, need + 8);
                for (var j = 0; j < auxCount; j++)
                {
                    var nameOffset = strOffset + (int)BitConverter.ToUInt32(bytes, aux + 8);
                    if (ReadCString(bytes, nameOffset) == versionName)
                    {
                        found++;
                        var flags = BitConverter.ToUInt16(bytes, aux + 4);
                        if ((flags & VerFlgWeak) == 0)
                        {
                            var patched = (ushort)(flags | VerFlgWeak);
                            bytes[aux + 4] = (byte)(patched & 0xff);
                            bytes[aux + 5] = (byte)(patched >> 8);
                            changed++;
                        }
                    }
                    aux += (int)BitConverter.ToUInt32(bytes, aux + 12);
                }
                var next = BitConverter.ToUInt32(bytes, need + 12);
                if (next == 0) break;
                need += (int)next;
            }
        }

        if (found == 0) return $"no {versionName} requirement (nothing to do)";
        if (changed == 0) return $"{versionName} already weak";

        var stamp = File.GetLastWriteTimeUtc(path);
        var temp = path + ".weakening.tmp";
        File.WriteAllBytes(temp, bytes);
        File.Replace(temp, path, null);
        File.SetLastWriteTimeUtc(path, stamp);
        return $"marked {changed} {versionName} requirement(s) weak";
    }

    private static string ReadCString(byte[] bytes, int offset)
    {
        var end = offset;
        while (end < bytes.Length && bytes[end] != 0) end++;
        return Encoding.ASCII.GetString(bytes, offset, end - offset);
    }
}
