# Build stage: the same Maven build as the README's first command.
FROM maven:3.9-eclipse-temurin-17 AS build
WORKDIR /src
COPY pom.xml .
RUN mvn -B -ntp -q dependency:go-offline
COPY src src
RUN mvn -B -ntp -q package -DskipTests

# Run stage: the broker runs in the java process itself (PID 1 gets the signals).
FROM eclipse-temurin:17-jre
# curl answers the compose healthcheck (GET /ready on the admin port).
RUN apt-get update && apt-get install -y --no-install-recommends curl && rm -rf /var/lib/apt/lists/*
WORKDIR /opt/webrocket
COPY --from=build /src/target/webrocket.jar webrocket.jar
COPY conf conf
ENV WEBROCKET_STORAGEDIR=/var/lib/webrocket \
    WEBROCKET_ADMIN_HOST=0.0.0.0
VOLUME /var/lib/webrocket
# 5701: Hazelcast (cluster.port). cluster.host is left unset on purpose: its default
# (null) lets Hazelcast pick the container's address. Vert.x's clustered event bus listens on
# a random port by default, which replicas on one compose network reach without any EXPOSE.
EXPOSE 8080 8081 8082 5701
ENTRYPOINT ["java", "-Xms256m", "-Xmx1g", "-jar", "webrocket.jar"]
