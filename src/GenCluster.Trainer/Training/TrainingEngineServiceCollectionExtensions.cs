using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace GenCluster.Trainer.Training;

/// <summary>Registrations for the training engine.</summary>
public static class TrainingEngineServiceCollectionExtensions
{
    /// <summary>Binds and validates <see cref="TrainingEngineOptions"/> (section <c>Trainer</c>) and registers <see cref="TrainerInstruments"/>.</summary>
    public static IServiceCollection AddGenClusterTrainingEngine(this IServiceCollection services)
    {
        services.AddOptions<TrainingEngineOptions>().BindConfiguration(TrainingEngineOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<TrainingEngineOptions>, TrainingEngineOptionsValidator>();
        services.AddMetrics();
        services.AddSingleton<TrainerInstruments>();
        return services;
    }
}
