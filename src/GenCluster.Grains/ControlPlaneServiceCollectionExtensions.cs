using GenCluster.Grains.Telemetry;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace GenCluster.Grains;

/// <summary>Registers what the grains need besides Orleans itself and a grain storage named <see cref="ControlPlaneOptions.StorageName"/>.</summary>
public static class ControlPlaneServiceCollectionExtensions
{
    /// <summary>Adds options with validation, <see cref="TimeProvider.System"/> (unless one is registered) and <see cref="SiloInstruments"/>.</summary>
    public static OptionsBuilder<ControlPlaneOptions> AddGenClusterControlPlane(this IServiceCollection services)
    {
        services.AddMetrics();
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<SiloInstruments>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ControlPlaneOptions>, ControlPlaneOptionsValidator>());
        return services.AddOptions<ControlPlaneOptions>().ValidateOnStart();
    }
}
